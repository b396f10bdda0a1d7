/* `xml-normalize --redefine --domain FILE` applies the checks of
 * `snapshot-create --redefine` (one code path, libvirt's
 * virDomainSnapshotRedefinePrep): before, xml-normalize embedded FILE into
 * a snapshot that had no <domain> (libvirt 9.0 refuses a new redefine
 * without one), never compared the uuids, and kept live-only parts such as
 * <domain id=>.
 *
 * Each document goes both ways -- sb_xml_normalize() with the domain's XML,
 * and sb_snapshot_create_xml(REDEFINE) + sb_snapshot_get_xml() on the
 * reference plugin's domain "test" -- and both must give the same XML or
 * the same error (class and message). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "snapbroker/xml.h"

static sb_broker *b;
static sb_connection *c;
static char *domain_xml, state_dir[] = "/tmp/sb-redefine-same-XXXXXX";

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(state_dir))
        return -1;
    setenv("SNAPBROKER_STATE_DIR", state_dir, 1);
    if (sb_broker_new(&b, NULL) < 0 || sb_connect(&c, b, "ref:///default", 0) < 0 ||
        sb_domain_get_xml(&domain_xml, c, "test", 0) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(domain_xml);
    sb_disconnect(c);
    sb_broker_free(b);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
    return system(cmd);
}

/* The snapshot document: head, then a <domain> made from the live one
 * (with the uuid and the <domain ...> tag replaced when asked), tail. */
static char *snapshot(const char *name, const char *domain_tag, const char *uuid, bool with_domain)
{
    char *dom = strdup(domain_xml), *out = NULL;
    if (domain_tag) {
        char *gt = strchr(dom, '>');
        char *rest = strdup(gt + 1);
        free(dom);
        if (asprintf(&dom, "%s%s", domain_tag, rest) < 0)
            dom = NULL;
        free(rest);
    }
    if (uuid) {
        char *u = strstr(dom, "<uuid>");
        memcpy(u + 6, uuid, strlen(uuid));
    }
    if (asprintf(&out, "<domainsnapshot><name>%s</name><state>running</state>"
                       "<creationTime>1700000000</creationTime>%s</domainsnapshot>",
                 name, with_domain ? dom : "") < 0)
        out = NULL;
    free(dom);
    return out;
}

static void same_both_ways(const char *xml, const char *name)
{
    sb_normalize_opts o = {.redefine = 1, .domain_xml = domain_xml};
    char *normalized = NULL, *stored = NULL;
    int rc1 = sb_xml_normalize(xml, strlen(xml), NULL, &o, &normalized);
    sb_error e1 = *sb_error_last();
    int rc2 = sb_snapshot_create_xml(NULL, c, "test", xml, SB_SNAPSHOT_CREATE_REDEFINE);
    if (rc2 == 0)
        rc2 = sb_snapshot_get_xml(&stored, c, "test", name, SB_SNAPSHOT_XML_SECURE);
    sb_error e2 = *sb_error_last();
    if (rc1 != rc2)
        fail_msg("xml-normalize: %d %s\nsnapshot-create: %d %s", rc1, e1.message, rc2,
                 e2.message);
    if (rc1 < 0) {
        assert_string_equal(e1.message, e2.message);
    } else {
        assert_string_equal(normalized, stored);
        assert_null(strstr(stored, " id='"));
    }
    free(normalized);
    free(stored);
}

static void missing_domain(void **state)
{
    (void)state;
    char *xml = snapshot("nodom", NULL, NULL, false);
    same_both_ways(xml, "nodom");
    assert_int_equal(sb_error_last()->code, SB_ERR_INTERNAL_ERROR);
    assert_non_null(strstr(sb_error_last()->message, "missing domain"));
    free(xml);
    /* the old uuid-only form is no domain either (libvirt 9.0) */
    xml = strdup("<domainsnapshot><name>u</name><state>running</state><creationTime>1"
                 "</creationTime><domain><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
                 "</domain></domainsnapshot>");
    same_both_ways(xml, "u");
    assert_non_null(strstr(sb_error_last()->message, "missing domain"));
    free(xml);
}

static void other_uuid(void **state)
{
    (void)state;
    char *xml = snapshot("otheruuid", NULL, "00000000", true);
    same_both_ways(xml, "otheruuid");
    assert_int_equal(sb_error_last()->code, SB_ERR_INVALID_ARG);
    assert_non_null(strstr(sb_error_last()->message, "must use uuid"));
    free(xml);
}

static void live_only_dropped(void **state)
{
    (void)state;
    char *xml = snapshot("live", "<domain type='test' id='7'>", NULL, true);
    same_both_ways(xml, "live");
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_domain),
        cmocka_unit_test(other_uuid),
        cmocka_unit_test(live_only_dropped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
