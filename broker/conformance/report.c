/* The kit's three outputs: a human summary, TAP (streamed, one line per
 * scenario as it finishes) and a JUnit XML file (written at the end). */
#include <stdio.h>
#include <string.h>

#include "report.h"

static const char *result_word(int r)
{
    return r == K_PASS ? "PASS" : r == K_FAIL ? "FAIL" : "SKIP";
}

void k_report_begin(FILE *out, enum sbk_format fmt, size_t n, const char *host,
                    const char *plugin)
{
    if (fmt == SBK_TAP) {
        fprintf(out, "TAP version 13\n1..%zu\n# snapbroker conformance: host %s, plugin %s\n", n,
                host, plugin);
    } else {
        fprintf(out, "snapbroker conformance: host %s, plugin %s, %zu scenario%s\n", host,
                plugin, n, n == 1 ? "" : "s");
    }
    fflush(out);
}

/* One line of text: newlines in a message become spaces. */
static void one_line(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\n' ? ' ' : *s, out);
}

void k_report_one(FILE *out, enum sbk_format fmt, size_t index, const struct k_scenario *s,
                  const struct k_outcome *o)
{
    if (fmt == SBK_TAP) {
        fprintf(out, "%sok %zu - %s: %s (semantics.md §%s)", o->result == K_FAIL ? "not " : "",
                index + 1, s->id, s->rule, s->section);
        if (o->result == K_SKIP) {
            fputs(" # SKIP ", out);
            one_line(out, o->msg);
        }
        fputc('\n', out);
        if (o->result == K_FAIL) {
            fputs("# ", out);
            one_line(out, o->msg);
            fputc('\n', out);
        }
    } else {
        fprintf(out, "%s  %-34s %s\n", result_word(o->result), s->id, s->rule);
        if (o->result != K_PASS) {
            fputs("      ", out);
            one_line(out, o->msg);
            fputc('\n', out);
        }
    }
    fflush(out);
}

void k_report_end(FILE *out, enum sbk_format fmt, const size_t counts[3])
{
    if (fmt == SBK_TAP)
        fprintf(out, "# %zu passed, %zu failed, %zu skipped\n", counts[K_PASS], counts[K_FAIL],
                counts[K_SKIP]);
    else
        fprintf(out, "\n%zu passed, %zu failed, %zu skipped\n", counts[K_PASS], counts[K_FAIL],
                counts[K_SKIP]);
    fflush(out);
}

static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* control characters are not allowed in XML 1.0 */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc(' ', f);
            else
                fputc(*s, f);
        }
    }
}

/* The family of an ID: what comes before its first '-'. */
static void family_of(const char *id, char *out, size_t len)
{
    size_t n = strcspn(id, "-");
    if (n >= len)
        n = len - 1;
    memcpy(out, id, n);
    out[n] = '\0';
}

int k_report_junit(const char *path, const char *host, const char *plugin,
                   const struct k_scenario *const *v, const struct k_outcome *o, size_t n,
                   const size_t counts[3])
{
    FILE *f = fopen(path, "w");
    double total = 0;

    if (!f)
        return -1;
    for (size_t i = 0; i < n; i++)
        total += o[i].seconds;
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n<testsuites>\n");
    fprintf(f, "  <testsuite name='snapbroker-conformance.");
    xml_escaped(f, plugin);
    fprintf(f, "' tests='%zu' failures='%zu' skipped='%zu' errors='0' time='%.3f'>\n", n,
            counts[K_FAIL], counts[K_SKIP], total);
    fprintf(f, "    <properties>\n      <property name='host' value='");
    xml_escaped(f, host);
    fprintf(f, "'/>\n      <property name='plugin' value='");
    xml_escaped(f, plugin);
    fprintf(f, "'/>\n    </properties>\n");
    for (size_t i = 0; i < n; i++) {
        char fam[32];
        family_of(v[i]->id, fam, sizeof(fam));
        fprintf(f, "    <testcase classname='conformance.%s' name='", fam);
        xml_escaped(f, v[i]->id);
        fprintf(f, "' time='%.3f'>\n", o[i].seconds);
        fprintf(f, "      <system-out>");
        xml_escaped(f, v[i]->rule);
        fprintf(f, " (docs/semantics.md §%s)</system-out>\n", v[i]->section);
        if (o[i].result == K_FAIL) {
            fprintf(f, "      <failure message='");
            xml_escaped(f, o[i].msg);
            fprintf(f, "'/>\n");
        } else if (o[i].result == K_SKIP) {
            fprintf(f, "      <skipped message='");
            xml_escaped(f, o[i].msg);
            fprintf(f, "'/>\n");
        }
        fprintf(f, "    </testcase>\n");
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return fclose(f) == 0 ? 0 : -1;
}
