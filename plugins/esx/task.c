/* Waiting for vSphere tasks.  Each poll is one PropertyCollector round
 * trip that reads the task's state, progress, error and result, and, when
 * asked, the VM the task changed: the poll that sees the task end also
 * brings the VM's state after it (no extra round trip).  Progress goes to
 * the broker; a failed task's fault type and message become the error.
 *
 * The VM's configuration (its device list above all) is most of such a
 * read.  Once a task left the VM's config.changeVersion where the
 * configuration the plugin holds was read (the simulator's snapshot
 * tasks; a power operation), the next polls read only the version of
 * the configuration: the read then takes the held configuration while
 * the version is the same, and reads it again when it is needed
 * otherwise (vm.c).  A host whose tasks move the version (ESXi's snapshot
 * tasks move the disks to delta files) keeps getting the whole
 * configuration in the poll, so it needs no round trip of its own. */
#include "esx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int task_failed(esx_conn *c, const esx_ref *task, const char *what, const xmlNode *err)
{
    xmlNode *fault = ex_child(err, "fault");
    char *type = ex_xsi_type(fault);
    char *msg = ex_child_text(err, "localizedMessage");
    /* some faults carry their reason as a field (SystemError.reason) */
    char *reason = ex_child_text(fault, "reason");

    snprintf(c->fault_type, sizeof(c->fault_type), "%s", type ? type : "");
    snprintf(c->fault_msg, sizeof(c->fault_msg), "%s",
             msg && *msg ? msg : reason && *reason ? reason : "");
    int rc = esx_error(c, esx_fault_class(type), "esx: %s failed on %s (task %s): %s%s%s%s",
                       what, c->display, task->value,
                       c->fault_msg[0] ? c->fault_msg : "no message",
                       type ? " (" : "", type ? type : "", type ? ")" : "");
    free(type);
    free(msg);
    free(reason);
    return rc;
}

static char *poll_spec(const esx_ref *task, const esx_ref *refresh, int light)
{
    esx_buf b = { 0 };
    eb_adds(&b, "<propSet><type>Task</type><all>false</all><pathSet>info.state</pathSet>"
                "<pathSet>info.error</pathSet><pathSet>info.result</pathSet>"
                "<pathSet>info.progress</pathSet></propSet>");
    if (refresh)
        esx_vm_propset(&b, !light);
    eb_adds(&b, "<objectSet>");
    eb_ref(&b, "obj", task->type, task->value);
    eb_adds(&b, "</objectSet>");
    if (refresh) {
        eb_adds(&b, "<objectSet>");
        eb_ref(&b, "obj", refresh->type, refresh->value);
        eb_adds(&b, "</objectSet>");
    }
    return eb_steal(&b);
}

int esx_task_wait(esx_conn *c, const esx_ref *task, const char *what, const esx_ref *refresh,
                  esx_vm **vm_out, esx_ref *result)
{
    double start = esx_now_ms();
    long pause = 5;
    int last_pct = -1, rc;
    /* The first poll also reads the VM: most tasks (and every task of the
     * simulator) have ended by then, and the VM's state after them comes
     * in the same round trip.  A task still running is polled alone; the
     * VM is then left for the next caller to read. */
    int light = c->light_polls;
    char *spec = poll_spec(task, refresh, light), *task_only = NULL;

    if (vm_out)
        *vm_out = NULL;
    if (!spec)
        return esx_oom(c);
    for (;;) {
        esx_result res;
        if ((rc = esx_retrieve(c, spec, &res)) < 0) {
            /* the host went away (or the task vanished) while we waited:
             * whether the operation happened is not known */
            char why[sizeof(c->err_msg)];
            snprintf(why, sizeof(why), "%s", c->err_msg);
            esx_error(c, -rc,
                      "esx: lost track of task %s (%s) on %s: %s; the operation may still "
                      "complete on the host",
                      task->value, what, c->display, why);
            break;
        }
        const esx_obj *t = esx_result_find(&res, task);
        char *state = ex_text(esx_obj_prop(t, "info.state"));
        if (!state) {
            esx_result_clear(&res);
            rc = esx_error(c, SB_ERR_HYPERVISOR, "esx: %s reports no state for task %s (%s)",
                           c->display, task->value, what);
            break;
        }
        if (strcmp(state, "success") == 0) {
            xmlNode *r = esx_obj_prop(t, "info.result");
            if (result && r && ex_ref(r, result) < 0)
                rc = esx_oom(c);
            const esx_obj *v = refresh ? esx_result_find(&res, refresh) : NULL; /* first poll */
            if (rc == 0 && v && vm_out)
                rc = esx_vm_from_obj(c, v, light, vm_out);
            if (v) /* the next task's polls: see above */
                c->light_polls = rc == 0 && vm_out && esx_conf_known(c, *vm_out);
            free(state);
            esx_result_clear(&res);
            if (c->api && last_pct >= 0 && last_pct < 100)
                c->api->progress(c->h, what, 100);
            break;
        }
        if (strcmp(state, "error") == 0) {
            rc = task_failed(c, task, what, esx_obj_prop(t, "info.error"));
            free(state);
            esx_result_clear(&res);
            break;
        }
        /* queued or running */
        if (refresh && !task_only) {
            if (!(task_only = poll_spec(task, NULL, 0))) {
                free(state);
                esx_result_clear(&res);
                rc = esx_oom(c);
                break;
            }
            free(spec);
            spec = task_only;
            refresh = NULL;
        }
        char *pct = ex_text(esx_obj_prop(t, "info.progress"));
        int p = pct ? atoi(pct) : 0;
        free(pct);
        free(state);
        esx_result_clear(&res);
        if (c->api && p != last_pct)
            c->api->progress(c->h, what, (unsigned)(p < 0 ? 0 : p > 100 ? 100 : p));
        last_pct = p;
        if (c->task_timeout_ms && esx_now_ms() - start > (double)c->task_timeout_ms) {
            rc = esx_error(c, SB_ERR_OPERATION_TIMEOUT,
                           "esx: task %s (%s) on %s still runs after %ld ms (task_timeout_ms); "
                           "it may still complete on the host",
                           task->value, what, c->display, c->task_timeout_ms);
            break;
        }
        esx_sleep_ms(pause);
        if (pause < 1000)
            pause *= 2;
    }
    free(spec);
    return rc;
}

int esx_task_run(esx_conn *c, const char *method, const esx_ref *this_ref, const char *args,
                 const char *what, const esx_ref *refresh, esx_vm **vm_out, esx_ref *result)
{
    esx_ref task = { 0 };
    int rc;

    if (vm_out)
        *vm_out = NULL;
    /* Other processes' kept reads of this host are out of date once the
     * task ran, whatever its outcome (changes.c); the read the last poll
     * brought is good to keep only if no other process counted a change
     * while the task ran. */
    uint64_t before = esx_changes_now(c);
    if ((rc = esx_call_ref(c, method, this_ref, args, &task)) < 0) {
        esx_ref_clear(&task);
        esx_changes_add(c);
        return rc;
    }
    rc = esx_task_wait(c, &task, what, refresh, vm_out, result);
    esx_ref_clear(&task);
    uint64_t after = esx_changes_add(c);
    if (vm_out && *vm_out)
        (*vm_out)->changes = !c->changes_path ? 0 /* no counter: cache_ms alone */
                             : before != ESX_GEN_NONE && after != ESX_GEN_NONE &&
                                       after == before + 1
                                 ? after
                                 : ESX_GEN_NONE;
    return rc;
}
