/* vm_bench — speed of weft's WebAssembly interpreter, with gas metering on and off, side by side
 * with wabt's wasm-interp.
 *
 * Kernels: the .wat files of bench/vm (integer loop, memory copies, hash map, recursive calls),
 * each exporting a no-argument "run" that does a fixed amount of work; they are assembled with
 * wabt's wat2wasm into a temporary directory when the benchmark starts.  Each kernel runs in a
 * fresh instance, metered (unlimited gas) and unmetered, interleaved, and the median CPU time of
 * the process is reported; wasm-interp runs the same module (`--run-all-exports`) and its CPU time
 * is measured through wait4.  Both engines must return the same result.
 *
 * Optional CoreMark: --coremark FILE.wasm runs a CoreMark build exporting run() -> f32 (the score)
 * and importing env.clock_ms () -> i32 (milliseconds of process CPU time, as wasm3's libc
 * provides), e.g. a freestanding clang --target=wasm32 build.
 *
 * Usage: vm_bench [--runs N] [--interp-runs N] [--no-interp] [--kernels DIR] [--coremark FILE]
 * Timing is CPU time, so other load on the machine disturbs it less; no test depends on it. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/vm.h"

#define MAX_KERNELS 32

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs argv, captures up to cap-1 bytes of stdout into out, and returns the child's exit status
 * (-1 if it could not run); *cpu receives the child's user + system CPU time. */
static int run_child(char *const argv[], char *out, size_t cap, double *cpu)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd[0], out + n, cap - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == cap - 1) {
            char sink[4096];
            while (read(fd[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    out[n] = 0;
    close(fd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static weft_err clock_ms(vm_call_ctx *ctx, void *user, const vm_val *args, vm_val *results)
{
    (void)ctx;
    (void)user;
    (void)args;
    results[0].i32 = (uint32_t)(uint64_t)(cpu_now() * 1000.0);
    return WEFT_OK;
}

/* One run of export "run" in a fresh instance; returns the CPU seconds, or < 0 on failure. */
static double run_once(const vm_config *cfg, const vm_module *m, vm_value *res, uint64_t *gas)
{
    vm_store *s = NULL;
    vm_linker *l = NULL;
    double t = -1;
    static const vm_host_def env[] = {{"env", "clock_ms", "", "i", clock_ms, NULL}};
    if (vm_store_new(&s, cfg) != WEFT_OK || vm_linker_new(&l) != WEFT_OK ||
        vm_linker_define_host(l, s, env, 1) != WEFT_OK)
        goto out;
    vm_store_set_gas(s, UINT64_MAX);
    vm_instance *inst;
    vm_diag diag;
    if (vm_instance_new(&inst, s, m, l, &diag) != WEFT_OK) {
        fprintf(stderr, "instantiate: %s\n", diag.msg);
        goto out;
    }
    vm_func *f = vm_instance_func(inst, "run");
    if (!f || vm_func_type(f)->nparams != 0 || vm_func_type(f)->nresults != 1)
        goto out;
    double t0 = cpu_now();
    weft_err err = vm_invoke(s, f, NULL, 0, res, 1);
    double t1 = cpu_now();
    if (err != WEFT_OK) {
        fprintf(stderr, "run: %s\n", weft_strerror(err));
        goto out;
    }
    *gas = UINT64_MAX - vm_store_gas(s);
    t = t1 - t0;
out:
    vm_linker_free(l);
    vm_store_free(s);
    return t;
}

/* The result as wasm-interp prints it. */
static void fmt_result(char *buf, size_t n, const vm_value *v)
{
    float f;
    double d;
    switch (v->type) {
    case VM_I32:
        snprintf(buf, n, "i32:%" PRIu32, v->v.i32);
        break;
    case VM_I64:
        snprintf(buf, n, "i64:%" PRIu64, v->v.i64);
        break;
    case VM_F32:
        memcpy(&f, &v->v.f32, 4);
        snprintf(buf, n, "f32:%f", (double)f);
        break;
    default:
        memcpy(&d, &v->v.f64, 8);
        snprintf(buf, n, "f64:%f", d);
        break;
    }
}

static int load_both(const uint8_t *bytes, size_t len, vm_config *on, vm_config *off,
                     vm_module **mon, vm_module **moff)
{
    vm_config_default(on);
    on->limits.memory_pages = 256;
    *off = *on;
    off->metering = false;
    vm_diag diag;
    if (vm_module_new(mon, on, bytes, len, &diag) != WEFT_OK ||
        vm_module_new(moff, off, bytes, len, &diag) != WEFT_OK) {
        fprintf(stderr, "load: %s\n", diag.msg);
        return -1;
    }
    return 0;
}

static int bench_kernel(const char *name, const char *wasm, int runs, int interp_runs, bool interp)
{
    size_t len;
    uint8_t *bytes = base_read_file(wasm, &len);
    if (!bytes)
        return -1;
    vm_config on, off;
    vm_module *mon = NULL, *moff = NULL;
    int rc = -1;
    if (load_both(bytes, len, &on, &off, &mon, &moff) != 0)
        goto out;
    double tm[64], tu[64];
    vm_value r1 = {0}, r2 = {0};
    uint64_t gas = 0, gas0;
    for (int i = 0; i < runs; i++) { /* interleaved */
        tm[i] = run_once(&on, mon, &r1, &gas);
        tu[i] = run_once(&off, moff, &r2, &gas0);
        if (tm[i] < 0 || tu[i] < 0 || r1.v.i64 != r2.v.i64)
            goto out;
    }
    double m_on = median(tm, runs), m_off = median(tu, runs);
    char res[64];
    fmt_result(res, sizeof res, &r1);
    printf("%-10s %-26s %10.1f %10.1f %+8.1f%%", name, res, m_on * 1e3, m_off * 1e3,
           (m_on / m_off - 1) * 100);
    if (interp) {
        double ti[16];
        char out[4096];
        char *argv[] = {"wasm-interp", (char *)wasm, "--run-all-exports", NULL};
        bool same = true;
        for (int i = 0; i < interp_runs; i++) {
            if (run_child(argv, out, sizeof out, &ti[i]) != 0) {
                printf("   wasm-interp failed\n");
                rc = 0;
                goto out;
            }
            char want[128];
            snprintf(want, sizeof want, "run() => %s\n", res);
            same = same && strcmp(out, want) == 0;
        }
        double mi = median(ti, interp_runs);
        printf(" %12.1f %8.1fx%s", mi * 1e3, mi / m_on, same ? "" : "  (RESULT DIFFERS)");
    }
    printf("   gas %" PRIu64 "\n", gas);
    rc = 0;
out:
    free(bytes);
    vm_module_free(mon);
    vm_module_free(moff);
    return rc;
}

static int bench_coremark(const char *path, int runs)
{
    size_t len;
    uint8_t *bytes = base_read_file(path, &len);
    if (!bytes) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    vm_config on, off;
    vm_module *mon = NULL, *moff = NULL;
    int rc = -1;
    if (load_both(bytes, len, &on, &off, &mon, &moff) != 0)
        goto out;
    double s_on[64], s_off[64];
    for (int i = 0; i < runs; i++) {
        vm_value r;
        uint64_t gas;
        float f;
        if (run_once(&on, mon, &r, &gas) < 0)
            goto out;
        memcpy(&f, &r.v.f32, 4);
        s_on[i] = f;
        if (run_once(&off, moff, &r, &gas) < 0)
            goto out;
        memcpy(&f, &r.v.f32, 4);
        s_off[i] = f;
    }
    double a = median(s_on, runs), b = median(s_off, runs);
    printf("CoreMark (%s): %.0f metered, %.0f unmetered (median of %d; metering %+.1f%%)\n", path,
           a, b, runs, (b / a - 1) * 100);
    rc = 0;
out:
    free(bytes);
    vm_module_free(mon);
    vm_module_free(moff);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int runs = 5, interp_runs = 3;
    bool interp = true;
    const char *kernels = NULL, *coremark = getenv("WEFT_BENCH_COREMARK");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--interp-runs") == 0 && i + 1 < argc)
            interp_runs = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--no-interp") == 0)
            interp = false;
        else if (strcmp(argv[i], "--kernels") == 0 && i + 1 < argc)
            kernels = argv[++i];
        else if (strcmp(argv[i], "--coremark") == 0 && i + 1 < argc)
            coremark = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--runs N] [--interp-runs N] [--no-interp] [--kernels DIR] "
                    "[--coremark FILE.wasm]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || interp_runs < 1 || interp_runs > 16) {
        fprintf(stderr, "runs: 1..64, interp runs: 1..16\n");
        return 2;
    }
    /* the kernels live beside this source file unless told otherwise */
    char kdir[4096];
    if (kernels) {
        snprintf(kdir, sizeof kdir, "%s", kernels);
    } else {
        snprintf(kdir, sizeof kdir, "%s", __FILE__);
        char *slash = strrchr(kdir, '/');
        snprintf(slash ? slash + 1 : kdir, sizeof kdir - (size_t)(slash ? slash + 1 - kdir : 0),
                 "vm");
    }
    char tmp[] = "/tmp/weft-vm-bench-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    DIR *d = opendir(kdir);
    if (!d) {
        fprintf(stderr, "vm_bench: no kernel directory %s (use --kernels DIR)\n", kdir);
        return 1;
    }
    char *names[MAX_KERNELS];
    int nk = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nk < MAX_KERNELS) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".wat") == 0)
            names[nk++] = strndup(e->d_name, n - 4);
    }
    closedir(d);
    qsort(names, (size_t)nk, sizeof *names, cmp_str);

    if (interp) {
        char out[256];
        double cpu;
        char *v[] = {"wasm-interp", "--version", NULL};
        if (run_child(v, out, sizeof out, &cpu) != 0) {
            printf("(wasm-interp not found: install Debian's wabt for the side-by-side figures)\n");
            interp = false;
        }
    }
    printf("weft vm benchmark — compiler %s; CPU time, median of %d interleaved runs "
           "(wasm-interp: %d)\n",
           __VERSION__, runs, interp_runs);
    printf("%-10s %-26s %10s %10s %9s", "kernel", "result", "metered", "unmetered", "metering");
    if (interp)
        printf(" %12s %9s", "wasm-interp", "speed-up");
    printf("\n%-10s %-26s %10s %10s %9s", "", "", "ms", "ms", "cost");
    if (interp)
        printf(" %12s %9s", "ms", "(metered)");
    printf("\n");
    int failed = 0;
    for (int i = 0; i < nk; i++) {
        char wat[8192], wasm[8192];
        snprintf(wat, sizeof wat, "%s/%s.wat", kdir, names[i]);
        snprintf(wasm, sizeof wasm, "%s/%s.wasm", tmp, names[i]);
        char out[1024];
        double cpu;
        char *argv2[] = {"wat2wasm", wat, "-o", wasm, NULL};
        if (run_child(argv2, out, sizeof out, &cpu) != 0) {
            fprintf(stderr, "vm_bench: wat2wasm failed on %s (Debian package wabt)\n", wat);
            failed = 1;
        } else if (bench_kernel(names[i], wasm, runs, interp_runs, interp) != 0) {
            fprintf(stderr, "vm_bench: kernel %s failed\n", names[i]);
            failed = 1;
        }
        unlink(wasm);
        free(names[i]);
    }
    rmdir(tmp);
    if (coremark && bench_coremark(coremark, runs) != 0)
        failed = 1;
    return failed;
}
