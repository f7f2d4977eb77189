/* A QEMU TCG plugin that counts every guest instruction executed, on all
 * vCPUs at every exception level (passage's EL2 code included), and writes
 * the total to a file when QEMU exits; with range=START:END two lines more:
 * the instructions fetched from there, and those of them executed before
 * the first code outside it that ran after them (0 without a range):
 *
 *   cc -shared -fPIC -O2 -DPLUGIN_API=1 -o insn_count.so insn_count.c   (QEMU 7.2)
 *   cc -shared -fPIC -O2 -DPLUGIN_API=2 -o insn_count.so insn_count.c   (QEMU 9.0 and later)
 *   qemu-system-aarch64 ... -icount shift=0,sleep=off -plugin ./insn_count.so,out=FILE[,range=40200000:40800000]
 *
 * Used by bench_linux_insns.sh. Debian's QEMU packages ship neither the
 * plugin header nor the example plugins, so the few entry points used are
 * declared here from QEMU's documented plugin API (include/qemu/qemu-plugin.h
 * of the matching version). Each instruction gets an inline add (QEMU 7.2)
 * or a call (QEMU 9 and later, see below) when its block is translated;
 * with -icount the vCPUs run one at a time, so one plain counter is exact.
 * An instruction is counted when it starts, so one that traps (HVC, SMC,
 * an aborting access) counts once, as the hardware's INST_RETIRED would. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLUGIN_API
#error "define PLUGIN_API: 1 for QEMU 7.2, 2 for QEMU 9.0 and later"
#endif

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum { kInlineAddU64 = 0 }; /* QEMU_PLUGIN_INLINE_ADD_U64 */

/* The plugin API version this file was written against: QEMU refuses it
 * if it is outside the range the running QEMU supports. */
EXPORT int qemu_plugin_version = PLUGIN_API;

extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                                  void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                           void *userdata);

#if PLUGIN_API == 1
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, int op, void *ptr,
                                                       uint64_t imm);
static uint64_t count, in_range;
static void count_insn(struct qemu_plugin_insn *insn, int ranged)
{
    qemu_plugin_register_vcpu_insn_exec_inline(insn, kInlineAddU64, &count, 1);
    if (ranged) qemu_plugin_register_vcpu_insn_exec_inline(insn, kInlineAddU64, &in_range, 1);
}
#else
/* QEMU 9 and later dropped the plain inline add for per-vCPU scoreboards,
 * and QEMU 10.0 with -icount aborts ("arm_mmu_idx_el: code should not be
 * reached") as the second vCPU comes up when a scoreboard counts: a call
 * per instruction instead, slower but plain (the vCPUs run one at a time
 * under -icount). */
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                                   void (*cb)(unsigned int, void *), int flags,
                                                   void *userdata);
enum { kCbNoRegs = 0 }; /* QEMU_PLUGIN_CB_NO_REGS */
static uint64_t count, in_range;
static void on_insn(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    count++;
    if (userdata != NULL) in_range++;
}
static void count_insn(struct qemu_plugin_insn *insn, int ranged)
{
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, kCbNoRegs, ranged ? &in_range : NULL);
}
#endif

static char out_path[4096];
/* range=START:END (virtual addresses, hex): instructions fetched from there
 * are also counted on their own (passage's EL2 code: it runs where it was
 * loaded, which no Linux code of the guest does). */
static uint64_t range_start, range_end;
static int left_range;
static uint64_t before_leaving;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t va = qemu_plugin_insn_vaddr(insn);
        int ranged = va >= range_start && va < range_end;
        if (!ranged && in_range != 0 && !left_range) {
            /* The first code outside the range about to run once code
             * inside it has run (QEMU's own boot stub runs before it): the
             * guest's first instruction, passage's boot complete. */
            left_range = 1;
            before_leaving = in_range;
        }
        count_insn(insn, ranged);
    }
}

static void on_exit_qemu(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    FILE *f = fopen(out_path, "w");
    if (f == NULL) {
        fprintf(stderr, "insn_count: cannot write %s\n", out_path);
        return;
    }
    fprintf(f, "%llu\n%llu\n%llu\n", (unsigned long long)count, (unsigned long long)in_range,
            (unsigned long long)before_leaving);
    fclose(f);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "out=", 4) == 0) {
            snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
        } else if (strncmp(argv[i], "range=", 6) == 0) {
            char *end = NULL;
            range_start = strtoull(argv[i] + 6, &end, 16);
            range_end = *end == ':' ? strtoull(end + 1, NULL, 16) : 0;
        }
    if (out_path[0] == '\0') {
        fprintf(stderr, "insn_count: give the output file: -plugin insn_count.so,out=FILE\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_qemu, NULL);
    return 0;
}
