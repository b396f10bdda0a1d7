/* A stand-in for one of VirtualBox's processes (VirtualBox cannot be
 * installed on Debian 12): the tests start it through a link named
 * VBoxSVC or VBoxHeadless, so /proc/PID/comm carries that name, with the
 * command line VirtualBox would have.  It waits for a signal, nothing
 * else. */
#include <unistd.h>

int main(void)
{
    for (;;)
        pause();
}
