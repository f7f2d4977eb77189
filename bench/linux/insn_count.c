/* A QEMU TCG plugin that counts every guest instruction executed, on all
 * vCPUs at every exception level (passage's EL2 code included), and writes
 * the total to a file when QEMU exits:
 *
 *   cc -shared -fPIC -O2 -DPLUGIN_API=1 -o insn_count.so insn_count.c   (QEMU 7.2)
 *   cc -shared -fPIC -O2 -DPLUGIN_API=2 -o insn_count.so insn_count.c   (QEMU 9.0 and later)
 *   qemu-system-aarch64 ... -icount shift=0,sleep=off -plugin ./insn_count.so,out=FILE
 *
 * Used by bench_linux_insns.sh. Debian's QEMU packages ship neither the
 * plugin header nor the example plugins, so the few entry points used are
 * declared here from QEMU's documented plugin API (include/qemu/qemu-plugin.h
 * of the matching version). Each instruction gets an inline add when its
 * block is translated (no call per instruction); with -icount the vCPUs run
 * one at a time, so a plain counter is exact on QEMU 7.2, and QEMU 9+ sums
 * one counter per vCPU (its scoreboard). An instruction is counted when it
 * starts, so one that traps (HVC, SMC, an aborting access) counts once, as
 * the hardware's INST_RETIRED would count it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                           void *userdata);

#if PLUGIN_API == 1
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, int op, void *ptr,
                                                       uint64_t imm);
static uint64_t count;
static uint64_t total(void) { return count; }
static void count_insn(struct qemu_plugin_insn *insn)
{
    qemu_plugin_register_vcpu_insn_exec_inline(insn, kInlineAddU64, &count, 1);
}
static int setup(void) { return 0; }
#else
struct qemu_plugin_scoreboard;
typedef struct {
    struct qemu_plugin_scoreboard *score;
    size_t offset;
} qemu_plugin_u64;
extern struct qemu_plugin_scoreboard *qemu_plugin_scoreboard_new(size_t element_size);
extern uint64_t qemu_plugin_u64_sum(qemu_plugin_u64 entry);
extern void qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(struct qemu_plugin_insn *insn, int op,
                                                                qemu_plugin_u64 entry, uint64_t imm);
static qemu_plugin_u64 count;
static uint64_t total(void) { return qemu_plugin_u64_sum(count); }
static void count_insn(struct qemu_plugin_insn *insn)
{
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, kInlineAddU64, count, 1);
}
static int setup(void)
{
    count.score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    count.offset = 0;
    return count.score != NULL ? 0 : -1;
}
#endif

static char out_path[4096];

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) count_insn(qemu_plugin_tb_get_insn(tb, i));
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
    fprintf(f, "%llu\n", (unsigned long long)total());
    fclose(f);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "out=", 4) == 0) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
    if (out_path[0] == '\0') {
        fprintf(stderr, "insn_count: give the output file: -plugin insn_count.so,out=FILE\n");
        return -1;
    }
    if (setup() != 0) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_qemu, NULL);
    return 0;
}
