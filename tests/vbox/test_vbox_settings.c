/* The settings reader's byte offsets (what the text edits of a new
 * snapshot rely on, plugins/vbox/settings_splice.c) on the real settings
 * file tests/vbox/data/goad-dc01.vbox, and the text edit against the
 * document edit on the same machine: the same tree, registry and
 * attachments, both valid for VirtualBox's schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapbroker/snapbroker.h"
#include "vb.h"
#include "vbox_fixture.h"
#include "vbox_vm.h"

static void starts(const char *buf, size_t at, const char *want)
{
    if (strncmp(buf + at, want, strlen(want)) != 0)
        fail_msg("at %zu: '%.40s' is not '%s'", at, buf + at, want);
}

static void goad_offsets(void **state)
{
    (void)state;
    char path[600], *buf = NULL;
    size_t len = 0;
    vb_ctx ctx;
    vb_machine *m = NULL;
    vb_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof path, "%s/tests/vbox/data/goad-dc01.vbox", getenv("SB_SOURCE_ROOT"));
    assert_int_equal(vb_read_file(&ctx, path, 1u << 24, &buf, &len), 0);
    assert_int_equal(vb_machine_parse(&ctx, buf, len, path, &m), 0);
    assert_true(m->spliceable);
    starts(buf, m->machine_at, "<Machine uuid=\"{a6277950");
    assert_int_equal(buf[m->machine_open_end - 1], '>');
    starts(buf, m->machine_close_at, "</Machine>");
    assert_int_equal(m->nstate, 1);
    starts(buf, m->state_at[0], "<Hardware>\n      <Memory RAMSize=\"3000\"/>");
    assert_int_equal(buf[m->state_end[0] - 1], '>');
    starts(buf + m->state_end[0] - strlen("</Hardware>"), 0, "</Hardware>");
    assert_int_equal(m->nsnaps, 2);
    starts(buf, m->snaps[0].open_end, "\n      <Hardware>");
    starts(buf, m->snaps[0].kids_close_at, "</Snapshots>");
    starts(buf, m->snaps[0].close_at, "</Snapshot>\n    <Hardware>");
    starts(buf, m->snaps[1].close_at, "</Snapshot>\n      </Snapshots>");
    assert_int_equal(m->snaps[1].kids_close_at, 0);
    /* the current state's attachment and the registry around it */
    assert_int_equal(m->hw.natt, 1);
    starts(buf, m->hw.att[0].image_at, "{e6800503-8273-4f16-b584-c7ba2c1df698}\"");
    assert_int_equal(m->hw.att[0].image_len, 38);
    long e680 = vb_medium_index(m, "e6800503-8273-4f16-b584-c7ba2c1df698");
    assert_true(e680 >= 0);
    assert_true(m->media[e680].empty);
    starts(buf, m->media[e680].tag_end, "/>");
    long base = vb_medium_index(m, "0898f36f-01c3-4b43-8aeb-36ba7adaef95");
    assert_false(m->media[base].empty);
    starts(buf, m->media[base].close_at, "</HardDisk>\n      </HardDisks>");
    vb_machine_free(m);
    free(buf);
    vb_ctx_fini(&ctx);
}

/* The same snapshot taken by a text edit and through the document. */
static int setup_pair(void **state)
{
    fx_vm *v = calloc(2, sizeof *v);
    fx_vm_setup(&v[0], "splice");
    fx_vm_setup(&v[1], "dom");
    *state = v;
    return 0;
}

static int teardown_pair(void **state)
{
    fx_vm *v = *state;
    fx_vm_teardown(&v[0]);
    fx_vm_teardown(&v[1]);
    free(v);
    return 0;
}

static void text_and_document_agree(void **state)
{
    fx_vm *pair = *state;
    fx_vm *a = &pair[0], *b = &pair[1];
    fx_disconnect(&b->f);
    fx_connect(&b->f, b->dir, "test_no_splice = true;");
    fx_vm *both[2] = { a, b };
    for (int k = 0; k < 2; k++) {
        fx_vm_qemu_write(both[k], 0, 0x11, 0, FX_MIB);
        fx_vm_create(both[k], "s1", NULL);
        fx_vm_guest_write(both[k], 0, 0x12, 0, 512);
        fx_vm_create(both[k], "s2", "two &amp; &lt;three&gt;");
        fx_vm_create(both[k], "s3", NULL);
        fx_vm_consistent(both[k]);
    }
    vb_machine *ma = fx_vm_machine(a), *mb = fx_vm_machine(b);
    assert_int_equal(ma->nsnaps, mb->nsnaps);
    for (size_t i = 0; i < ma->nsnaps; i++) {
        assert_string_equal(ma->snaps[i].name, mb->snaps[i].name);
        assert_int_equal(ma->snaps[i].parent, mb->snaps[i].parent);
        assert_string_equal(ma->snaps[i].desc ? ma->snaps[i].desc : "",
                            mb->snaps[i].desc ? mb->snaps[i].desc : "");
        if (i == 1)
            assert_string_equal(ma->snaps[i].desc, "two & <three>");
        assert_int_equal(ma->snaps[i].hw.natt, mb->snaps[i].hw.natt);
        assert_int_equal(ma->snaps[i].hw.ram_mib, mb->snaps[i].hw.ram_mib);
    }
    assert_int_equal(vb_snap_index(ma, ma->current), vb_snap_index(mb, mb->current));
    assert_int_equal(ma->current_modified, mb->current_modified);
    assert_int_equal(ma->nmedia, mb->nmedia);
    for (size_t i = 0; i < ma->nmedia; i++) {
        assert_int_equal(ma->media[i].parent, mb->media[i].parent);
        assert_string_equal(ma->media[i].format, mb->media[i].format);
    }
    /* the machine's disks hang under the current snapshot's images */
    for (size_t k = 0; k < ma->hw.natt; k++) {
        long ia = vb_medium_index(ma, ma->hw.att[k].image);
        long ib = vb_medium_index(mb, mb->hw.att[k].image);
        if (ma->hw.att[k].dev != VB_DEV_HDD)
            continue;
        assert_true(ia >= 0 && ib >= 0);
        const vb_snap *ca = vb_current(ma), *cb = vb_current(mb);
        assert_string_equal(ma->media[ma->media[ia].parent].uuid, ca->hw.att[k].image);
        assert_string_equal(mb->media[mb->media[ib].parent].uuid, cb->hw.att[k].image);
    }
    vb_machine_free(ma);
    vb_machine_free(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(goad_offsets),
        cmocka_unit_test_setup_teardown(text_and_document_agree, setup_pair, teardown_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
