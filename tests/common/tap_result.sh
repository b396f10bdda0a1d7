# TAP lines for the shell tests that build things (sourced): result
# STATUS TEXT [LOG] prints "ok N - TEXT", or "not ok N - TEXT" after the
# last 40 lines of LOG (as comments) when STATUS is not 0.
n=0
result() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -40
        echo "not ok $n - $2"
    fi
}
