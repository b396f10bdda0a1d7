# Shared by the CLI test scripts (sourced, bash).
#
# cli_setup BIN PLUGIN_DIR: a private state dir and a configuration whose
# default host "ref" uses the reference plugin (ref:///default), so every
# snapbroker process of a test sees the same host and nothing of the user.
cli_setup() {
    SB_BIN=$1
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-cli-test.XXXXXX")
    trap 'rm -rf "$TMP"' EXIT
    mkdir -p "$TMP/state"
    cat > "$TMP/snapbroker.conf" <<CONF
default_host = "ref";
hosts = (
  { name = "ref"; plugin = "ref"; uri = "ref:///default"; }
);
CONF
    export SNAPBROKER_CONFIG="$TMP/snapbroker.conf"
    export SNAPBROKER_STATE_DIR="$TMP/state"
    export SNAPBROKER_PLUGIN_DIR=$2
    # Creation times are printed in local time; fix the zone so masks and
    # column widths do not depend on the machine.
    export TZ=UTC
    export LC_ALL=C
    # snapshot-edit runs $VISUAL or $EDITOR: a case that reaches the editor
    # without naming one fails at once instead of waiting in vi.
    unset VISUAL
    export EDITOR=false
}

# Mask what changes from run to run or with other components' formats:
# creation times (table, XML and JSON), the store's byte count in `check`
# findings, and the temporary, data and plugin directories.
cli_mask() {
    sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}/<TIME>/g' \
           -e 's#<creationTime>-?[0-9]+</creationTime>#<creationTime>TIME</creationTime>#g' \
           -e 's/"creation_time":-?[0-9]+/"creation_time":0/g' \
           -e 's/[0-9]+ record\(s\), [0-9]+ bytes/N record(s), N bytes/g' \
           -e "s#${TMP}#@TMP@#g" -e "s#${DATA:-@@nodata@@}#@DATA@#g" \
           -e "s#${SNAPBROKER_PLUGIN_DIR}#@PLUGINS@#g"
}
