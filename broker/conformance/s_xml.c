/* XML normalization round trips (semantics.md §3, §4): what goes in comes
 * back as the canonical document, with create-mode defaults applied. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit_internal.h"

/* Create from inner XML (the redefine-parse fields are added by
 * k_snap_xml), then fetch its XML into *out. */
static int make(struct k *k, const char *name, const char *extra, char **out)
{
    char *xml = k_snap_xml(k, name, extra), *made = NULL;
    int r = k_create_xml(k, xml, 0, &made);
    free(xml);
    if (r != K_PASS)
        return r;
    *out = k_get_xml(k, made);
    free(made);
    return *out ? K_PASS : K_FAIL;
}

static int field_is(struct k *k, const char *xml, const char *elem, const char *want)
{
    char *got = k_xml_field(xml, elem);
    int r = K_PASS;
    if (!want && got)
        r = k_fail(k, "<%s> is '%s'; expected none", elem, got);
    else if (want && !got)
        r = k_fail(k, "no <%s>; expected '%s' in:\n%s", elem, want, xml);
    else if (want && strcmp(got, want) != 0)
        r = k_fail(k, "<%s> is '%s'; expected '%s'", elem, got, want);
    free(got);
    return r;
}

static int contains(struct k *k, const char *xml, const char *want)
{
    if (!strstr(xml, want))
        return k_fail(k, "the XML lacks \"%s\":\n%s", want, xml);
    return K_PASS;
}

static int name_desc_kept(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x1", "<description>first one</description>", &xml));
    int r = field_is(k, xml, "name", "x1");
    if (r == K_PASS)
        r = field_is(k, xml, "description", "first one");
    free(xml);
    return r;
}

static long long field_ll(const char *xml, const char *elem)
{
    char *v = k_xml_field(xml, elem);
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* The current time in seconds, as a bound for a creationTime: time() is
 * the clock glibc updates once a tick, up to a tick behind the precise
 * clock that a broker or a daemon (libvirtd) may read, so near a second's
 * boundary a snapshot made after time() said T may carry T + 1.  The
 * bounds allow that second on either side; what is checked is "now", not
 * the tick. */
static long long now_lo(void)
{
    return (long long)time(NULL) - 1;
}

static long long now_hi(void)
{
    return (long long)time(NULL) + 1;
}

static int default_name(struct k *k, const struct k_scenario *s)
{
    char *made = NULL, *xml;
    long long t0 = now_lo();
    (void)s;
    K_TRY(k_create_xml(k, "<domainsnapshot/>", 0, &made));
    long long t1 = now_hi();
    if (!(xml = k_get_xml(k, made))) {
        free(made);
        return K_FAIL;
    }
    long long ct = field_ll(xml, "creationTime");
    char want[32];
    snprintf(want, sizeof(want), "%lld", ct);
    int r = strcmp(made, want) == 0 && ct >= t0 && ct <= t1
                ? K_PASS
                : k_fail(k, "a create without <name> was named '%s' with creationTime %lld; "
                         "expected the creation time in seconds (%lld..%lld)",
                         made, ct, t0, t1);
    free(made);
    free(xml);
    return r;
}

static int time_is_now(struct k *k, const struct k_scenario *s)
{
    char *xml;
    long long t0 = now_lo();
    (void)s;
    K_TRY(make(k, "x1", strcmp(k->caps.create_parse, "redefine") == 0
                            ? NULL
                            : "<creationTime>1</creationTime>",
               &xml));
    long long ct = field_ll(xml, "creationTime");
    int r = ct >= t0 && ct <= now_hi()
                ? K_PASS
                : k_fail(k, "creationTime %lld; a create sets it to now (%lld..)", ct, t0);
    free(xml);
    return r;
}

static int state_ignored(struct k *k, const struct k_scenario *s)
{
    char *made = NULL, *xml;
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(k_create_xml(k,
                       "<domainsnapshot><name>x1</name><state>paused</state>"
                       "<creationTime>1</creationTime></domainsnapshot>",
                       0, &made));
    free(made);
    if (!(xml = k_get_xml(k, "x1")))
        return K_FAIL;
    int r = field_is(k, xml, "state", "shutoff");
    free(xml);
    return r;
}

static int parent_ignored(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(k_create(k, "x1", 0));
    K_TRY(k_create(k, "x2", 0));
    K_TRY(make(k, "x3", "<parent><name>x1</name></parent>", &xml));
    free(xml);
    return k_parent_is(k, "x3", "x2");
}

static int escaping(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x1", "<description>a&amp;b &lt;c&gt; 'd' \"e\"</description>", &xml));
    int r = contains(k, xml,
                     "<description>a&amp;b &lt;c&gt; &apos;d&apos; &quot;e&quot;</description>");
    free(xml);
    return r;
}

static int utf8_name(struct k *k, const struct k_scenario *s)
{
    const char *name = "sn\xc3\xa4p-\xe2\x98\x83";
    char *xml;
    (void)s;
    K_TRY(make(k, name, NULL, &xml));
    int r = field_is(k, xml, "name", name);
    free(xml);
    return r == K_PASS ? k_list_is(k, NULL, 0, name) : r;
}

static int whitespace_kept(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x1", "<description>  two\n  lines  </description>", &xml));
    int r = field_is(k, xml, "description", "  two\n  lines  ");
    free(xml);
    return r;
}

static int empty_description(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x1", "<description/>", &xml));
    int r = field_is(k, xml, "description", NULL);
    free(xml);
    return r;
}

static int charref_cdata(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x&#x31;", "<description><![CDATA[<b>&]]></description>", &xml));
    int r = field_is(k, xml, "name", "x1");
    if (r == K_PASS)
        r = field_is(k, xml, "description", "&lt;b&gt;&amp;");
    free(xml);
    return r;
}

static int declaration_comments(struct k *k, const struct k_scenario *s)
{
    char *made = NULL, *inner = k_snap_xml(k, "x1", "<!-- a comment -->"), *xml = NULL;
    (void)s;
    if (asprintf(&xml, "<?xml version='1.0' encoding='UTF-8'?>\n<!-- kit -->\n%s", inner) < 0)
        xml = NULL;
    free(inner);
    if (!xml)
        return k_fail(k, "out of memory");
    int r = k_create_xml(k, xml, 0, &made);
    free(xml);
    free(made);
    return r == K_PASS ? k_list_is(k, NULL, 0, "x1") : r;
}

/* Elements in the canonical order, where present. */
static int order(struct k *k, const struct k_scenario *s)
{
    static const char *const seq[] = { "<name>", "<description>", "<state>", "<parent>",
                                       "<creationTime>", "<memory", "<disks>", "<domain" };
    char *xml;
    const char *last = NULL, *last_tag = NULL;
    (void)s;
    K_TRY(k_create(k, "x1", 0));
    K_TRY(make(k, "x2", "<description>d</description>", &xml));
    const char *body = strchr(xml, '>'); /* past <domainsnapshot> */
    const char *dom = body ? strstr(body, "<domain") : NULL;
    for (size_t i = 0; body && i < sizeof(seq) / sizeof(seq[0]); i++) {
        /* the snapshot's own elements, not those of the embedded domain */
        const char *p = i + 1 < sizeof(seq) / sizeof(seq[0]) ? strstr(body, seq[i]) : dom;
        if (!p || (dom && p > dom))
            continue;
        if (last && p < last) {
            int r = k_fail(k, "%s comes before %s; canonical order is name, description, "
                           "state, parent, creationTime, memory, disks, domain:\n%s",
                           seq[i], last_tag, xml);
            free(xml);
            return r;
        }
        last = p;
        last_tag = seq[i];
    }
    free(xml);
    return K_PASS;
}

/* Two spaces per level, single-quoted attributes. */
static int format(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x1", "<description>d</description>", &xml));
    int r = K_PASS;
    if (strncmp(xml, "<domainsnapshot>\n  <name>x1</name>\n", 35) != 0)
        r = k_fail(k, "the document does not start with <domainsnapshot> and a 2-space "
                   "indented <name>:\n%s", xml);
    else if (strchr(xml, '"'))
        r = k_fail(k, "attributes are not single-quoted:\n%s", xml);
    free(xml);
    return r;
}

static int redefine_roundtrip(struct k *k, const struct k_scenario *s)
{
    char *a, *b = NULL;
    (void)s;
    K_TRY(k_create(k, "x1", 0));
    K_TRY(make(k, "x2", "<description>round trip</description>", &a));
    int r = k_create_xml(k, a, SB_SNAPSHOT_CREATE_REDEFINE, NULL);
    if (r == K_PASS && (b = k_get_xml(k, "x2")) && strcmp(a, b) != 0)
        r = k_fail(k, "redefining a snapshot from its own XML changed it:\n%s\nbecame\n%s", a, b);
    else if (r == K_PASS && !b)
        r = K_FAIL;
    free(a);
    free(b);
    return r;
}

static int disks_in_domain_order(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(make(k, "x1", "<disks><disk name='vdb' snapshot='internal'/></disks>", &xml));
    char *na = k_devs(k, "<disk name='vda'"), *nb = k_devs(k, "<disk name='vdb'");
    const char *a = strstr(xml, na), *b = strstr(xml, nb);
    int r = a && b && a < b ? K_PASS
                            : k_fail(k, "<disks> must list every domain disk in domain order "
                                     "(%s, %s):\n%s", k->disk[0], k->disk[1], xml);
    free(na);
    free(nb);
    free(xml);
    return r;
}

static int disk_by_path(struct k *k, const struct k_scenario *s)
{
    char *src = k_disk_source(k, "vdb"), *extra = NULL, *xml;
    (void)s;
    if (!src)
        return k_fail(k, "domain '%s' has no file disk %s", k->dom, k->disk[1]);
    int n = asprintf(&extra, "<disks><disk name='%s' snapshot='internal'/></disks>", src);
    free(src);
    if (n < 0)
        return k_fail(k, "out of memory");
    int r = make(k, "x1", extra, &xml);
    free(extra);
    if (r != K_PASS)
        return r;
    char *want = k_devs(k, "<disk name='vdb'");
    r = contains(k, xml, want);
    free(want);
    free(xml);
    return r;
}

static int refused_create(struct k *k, const char *extra, unsigned flags, int cls,
                          const char *what)
{
    char *xml = k_snap_xml(k, "x1", extra);
    int r = k_create_refused(k, xml, flags, cls, what);
    free(xml);
    return r;
}

static int override_none(struct k *k, const struct k_scenario *s)
{
    (void)s;
    return refused_create(k, "<disks><disk name='vda' snapshot='internal'/></disks>", 0,
                          SB_ERR_CONFIG_UNSUPPORTED, "a <disks> entry (override 'none')");
}

static int override_match(struct k *k, const struct k_scenario *s)
{
    (void)s;
    return refused_create(k, "<disks><disk name='vda' snapshot='no'/></disks>", 0,
                          SB_ERR_CONFIG_UNSUPPORTED,
                          "a disk mode other than the domain disk's (override 'match')");
}

static int memory_offline(struct k *k, const struct k_scenario *s)
{
    char *xml;
    (void)s;
    K_TRY(k_set_state(k, SB_DOMAIN_SHUTOFF));
    K_TRY(make(k, "x1", NULL, &xml));
    int r = contains(k, xml, "<memory snapshot='no'/>");
    free(xml);
    return r;
}

static int domain_embedded(struct k *k, const struct k_scenario *s)
{
    char *xml, want[200];
    (void)s;
    K_TRY(make(k, "x1", NULL, &xml));
    snprintf(want, sizeof(want), "<name>%s</name>", k->dom);
    const char *d = strstr(xml, "<domain");
    int r = d && strstr(d, want) ? K_PASS
                                 : k_fail(k, "the snapshot does not embed domain '%s':\n%s",
                                          k->dom, xml);
    free(xml);
    return r;
}

static int validate_ok(struct k *k, const struct k_scenario *s)
{
    char *xml = k_snap_xml(k, "x1", "<description>valid</description>");
    (void)s;
    int r = k_create_xml(k, xml, SB_SNAPSHOT_CREATE_VALIDATE, NULL);
    free(xml);
    return r == K_PASS ? k_list_is(k, NULL, 0, "x1") : r;
}

static int validate_bad(struct k *k, const struct k_scenario *s)
{
    (void)s;
    return refused_create(k, "<bogus/>", SB_SNAPSHOT_CREATE_VALIDATE, SB_ERR_XML_INVALID_SCHEMA,
                          "an element the schema lacks, VALIDATE");
}

static int info_matches(struct k *k, const struct k_scenario *s)
{
    sb_snapshot_info info;
    char *xml, *state;
    (void)s;
    K_TRY(k_create(k, "x1", 0));
    K_TRY(make(k, "x2", NULL, &xml));
    if (sb_snapshot_info_get(&info, k->c, k->dom, "x2") < 0) {
        free(xml);
        return k_fail(k, "snapshot info of x2: %s", k_errstr());
    }
    state = k_xml_field(xml, "state");
    long long ct = field_ll(xml, "creationTime");
    int r = K_PASS;
    if (!state || strcmp(state, sb_snapshot_state_name(info.state)) != 0)
        r = k_fail(k, "info says state %s, the XML %s", sb_snapshot_state_name(info.state),
                   state ? state : "nothing");
    else if (ct != info.creation_time)
        r = k_fail(k, "info says creationTime %lld, the XML %lld", info.creation_time, ct);
    else if (strcmp(info.parent, "x1") != 0 || !info.is_current)
        r = k_fail(k, "info says parent '%s', current %d; expected x1, 1", info.parent,
                   info.is_current);
    else if (info.external != k_xml_external(xml))
        r = k_fail(k, "info says external %d, the XML %d", info.external, k_xml_external(xml));
    free(state);
    free(xml);
    return r;
}

#define ALLOWED_DISKS (K_T_DISKS | K_T_OVERRIDE_ALLOWED)
static const struct k_scenario scenarios[] = {
    { "XML-NAME-DESCRIPTION-KEPT", "3.1",
      "name and description given at create come back unchanged", { 0 }, name_desc_kept },
    { "XML-DEFAULT-NAME", "4.1",
      "a create without <name> is named after its creationTime in seconds",
      { .traits = K_T_PARSE_CREATE }, default_name },
    { "XML-CREATION-TIME-NOW", "4.1",
      "a create sets creationTime to the current time, whatever the document says", { 0 },
      time_is_now },
    { "XML-STATE-FROM-DOMAIN", "4.4",
      "a create ignores <state>: a shut-off domain's snapshot is 'shutoff'", { 0 },
      state_ignored },
    { "XML-PARENT-IGNORED", "5.2",
      "a create ignores <parent>: the parent is the current snapshot", { 0 }, parent_ignored },
    { "XML-ESCAPING", "3.5",
      "text is printed with &amp; &lt; &gt; &apos; &quot; escaped", { 0 }, escaping },
    { "XML-UTF8-NAME", "3.5", "a UTF-8 name is kept byte for byte", { 0 }, utf8_name },
    { "XML-DESCRIPTION-WHITESPACE", "3.5",
      "whitespace and newlines in a description are kept", { 0 }, whitespace_kept },
    { "XML-EMPTY-DESCRIPTION", "3.5", "an empty <description/> is dropped", { 0 },
      empty_description },
    { "XML-CHARREF-CDATA", "3.5",
      "character references and CDATA are decoded on input and escaped on output", { 0 },
      charref_cdata },
    { "XML-DECLARATION-COMMENTS", "3.5",
      "an XML declaration and comments in the input are accepted", { 0 },
      declaration_comments },
    { "XML-ELEMENT-ORDER", "3.1",
      "elements come in the canonical order (name, description, state, parent, "
      "creationTime, memory, disks, domain)", { 0 }, order },
    { "XML-FORMAT", "3.1", "output is indented by 2 spaces with single-quoted attributes",
      { .traits = K_T_BROKER_META }, format },
    { "XML-REDEFINE-ROUNDTRIP", "6.1",
      "redefining a snapshot from its own XML leaves its XML unchanged",
      { .create = SB_SNAPSHOT_CREATE_REDEFINE }, redefine_roundtrip },
    { "XML-DISKS-DOMAIN-ORDER", "4.3",
      "<disks> lists every domain disk, in the domain's order, whatever the request lists",
      { .traits = ALLOWED_DISKS }, disks_in_domain_order },
    { "XML-DISK-BY-PATH", "4.3",
      "a disk named by its source path is rewritten to its target dev",
      { .traits = ALLOWED_DISKS }, disk_by_path },
    { "XML-OVERRIDE-NONE", "4.3",
      "override 'none': any <disks> entry is refused with CONFIG_UNSUPPORTED, nothing made",
      { .traits = K_T_OVERRIDE_NONE }, override_none },
    { "XML-OVERRIDE-MATCH", "4.3",
      "override 'match': a disk mode unlike the domain disk's is refused with "
      "CONFIG_UNSUPPORTED",
      { .traits = K_T_OVERRIDE_MATCH }, override_match },
    { "XML-MEMORY-OFFLINE", "4.2",
      "a shut-off domain's snapshot has <memory snapshot='no'/>",
      { .traits = K_T_DISKS }, memory_offline },
    { "XML-DOMAIN-EMBEDDED", "3.1", "a broker-owned snapshot embeds the domain definition",
      { .traits = K_T_BROKER_META }, domain_embedded },
    { "XML-VALIDATE-ACCEPTS", "3.4", "CREATE_VALIDATE accepts a document the schema allows",
      { .create = SB_SNAPSHOT_CREATE_VALIDATE }, validate_ok },
    { "XML-VALIDATE-REFUSES", "3.4",
      "CREATE_VALIDATE refuses an element the schema lacks with XML_INVALID_SCHEMA",
      { .create = SB_SNAPSHOT_CREATE_VALIDATE }, validate_bad },
    { "XML-INFO-MATCHES", "5.5",
      "snapshot-info (state, creationTime, parent, current, location) agrees with the XML",
      { 0 }, info_matches },
};

const struct k_family k_family_xml = { "xml", scenarios,
                                       sizeof(scenarios) / sizeof(scenarios[0]) };
