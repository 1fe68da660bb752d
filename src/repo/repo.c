/* repo: the repository directory — lock, init, open, key files, staking keys, api.json/api.token.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "repo/repo.h"
#include "repo/repo_internal.h"

#define KEY_FILE_MAX 256 /* a key file holds "S…" (~55 chars) and a newline */

/* ---- files --------------------------------------------------------------------------------- */

static weft_err write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return WEFT_E_IO;
        }
        p += k;
        len -= (size_t)k;
    }
    return WEFT_OK;
}

/* fsync of the directory holding path, so that a create/rename/unlink is durable. */
static weft_err fsync_parent(const char *path)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *slash = strrchr(d, '/');
    if (!slash)
        snprintf(d, sizeof d, ".");
    else if (slash == d)
        d[1] = '\0';
    else
        *slash = '\0';
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return WEFT_E_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? WEFT_OK : WEFT_E_IO;
}

weft_err repo_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return WEFT_E_IO;
    }
    (void)unlink(tmp); /* a leftover of a crash: O_EXCL below guarantees `mode` */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return WEFT_E_IO;
    weft_err e = write_all(fd, data, len);
    if (e == WEFT_OK && fsync(fd) != 0)
        e = WEFT_E_IO;
    if (close(fd) != 0 && e == WEFT_OK)
        e = WEFT_E_IO;
    if (e == WEFT_OK && rename(tmp, path) != 0)
        e = WEFT_E_IO;
    if (e != WEFT_OK) {
        int saved = errno;
        (void)unlink(tmp);
        errno = saved;
        return e;
    }
    return fsync_parent(path);
}

/* Creates path with `mode`, refusing an existing file (E_EXISTS), written and fsync'ed. */
static weft_err write_new(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? WEFT_E_EXISTS : WEFT_E_IO;
    weft_err e = write_all(fd, data, len);
    if (e == WEFT_OK && fsync(fd) != 0)
        e = WEFT_E_IO;
    if (close(fd) != 0 && e == WEFT_OK)
        e = WEFT_E_IO;
    if (e != WEFT_OK) {
        (void)unlink(path);
        return e;
    }
    return fsync_parent(path);
}

/* Reads a whole (small) file through an open descriptor; NUL-terminates.  E_LIMIT past max. */
static weft_err read_fd(int fd, char **out, size_t *len, size_t max)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    if (!b)
        return WEFT_E_NOMEM;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max) {
                free(b);
                return WEFT_E_LIMIT;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return WEFT_E_NOMEM;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t k = read(fd, b + n, cap - n - 1);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            free(b);
            return WEFT_E_IO;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n > max) {
        free(b);
        return WEFT_E_LIMIT;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return WEFT_OK;
}

static weft_err read_path(const char *path, char **out, size_t *len, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? WEFT_E_NOT_FOUND : WEFT_E_IO;
    weft_err e = read_fd(fd, out, len, max);
    close(fd);
    return e;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* mkdir -p; the last component gets `mode`, missing parents 0755. */
static weft_err mkdir_p(const char *path, mode_t mode)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
        return WEFT_E_LIMIT;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return WEFT_E_IO;
        *s = '/';
    }
    if (mkdir(p, mode) != 0) {
        if (errno != EEXIST)
            return WEFT_E_IO;
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return WEFT_E_IO;
        }
    }
    return WEFT_OK;
}

static weft_err join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? WEFT_E_LIMIT : WEFT_OK;
}

weft_err repo_path(const repo_t *r, const char *name, char *out, size_t cap)
{
    return join(out, cap, r->dir, name);
}

/* ---- the lock ------------------------------------------------------------------------------ */

/* Takes DIR/repo.lock; returns the descriptor in *fd. */
static weft_err lock_take(const char *dir, int *fd_out, char *err, size_t errcap)
{
    char path[PATH_MAX];
    if (join(path, sizeof path, dir, "repo.lock") != WEFT_OK) {
        repo_errf(err, errcap, "repository path too long");
        return WEFT_E_LIMIT;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        repo_errf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return WEFT_E_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            char buf[32] = {0};
            ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
            long pid = 0;
            if (k > 0) {
                char *end;
                pid = strtol(buf, &end, 10);
                if (end == buf || pid <= 0)
                    pid = 0;
            }
            close(fd);
            if (pid > 0)
                repo_errf(err, errcap, "repository %s is locked by pid %ld", dir, pid);
            else
                repo_errf(err, errcap, "repository %s is locked by another process", dir);
            return WEFT_E_REPO_LOCKED;
        }
        close(fd);
        repo_errf(err, errcap, "cannot lock %s: %s", path, strerror(e));
        return WEFT_E_IO;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n || fsync(fd) != 0) {
        repo_errf(err, errcap, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return WEFT_E_IO;
    }
    *fd_out = fd;
    return WEFT_OK;
}

/* ---- key files ----------------------------------------------------------------------------- */

static weft_err key_write(const char *path, const keypair_t *kp)
{
    char text[MODEL_STR_MAX + 1];
    secret_key_to_str(text, kp);
    size_t n = strlen(text);
    text[n++] = '\n';
    weft_err e = write_new(path, text, n, 0600);
    crypto_wipe(text, sizeof text);
    return e;
}

/* Reads a key file; `shown` is its name relative to the repository, for messages. */
static weft_err key_read(const char *path, const char *shown, keypair_t *kp, char *err,
                         size_t errcap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        repo_errf(err, errcap, "%s: %s", shown, strerror(errno));
        return WEFT_E_REPO_KEY;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        repo_errf(err, errcap, "%s: not a regular file", shown);
        return WEFT_E_REPO_KEY;
    }
    if (st.st_mode & 077) {
        close(fd);
        repo_errf(err, errcap, "%s is readable by others (chmod 600)", shown);
        return WEFT_E_REPO_KEY;
    }
    char *text;
    size_t len;
    weft_err e = read_fd(fd, &text, &len, KEY_FILE_MAX);
    close(fd);
    if (e != WEFT_OK) {
        repo_errf(err, errcap, "%s: %s", shown,
                  e == WEFT_E_LIMIT ? "too large for a key file" : weft_strerror(e));
        return WEFT_E_REPO_KEY;
    }
    size_t n = len;
    if (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    if (n > 0 && text[n - 1] == '\r')
        text[--n] = '\0';
    e = secret_key_parse(kp, text);
    crypto_wipe(text, len);
    free(text);
    if (e != WEFT_OK) {
        repo_errf(err, errcap, "%s: not a secret key (%s)", shown, weft_strerror(e));
        return WEFT_E_REPO_KEY;
    }
    return WEFT_OK;
}

weft_err repo_read_key_file(const char *path, keypair_t *kp, char *err, size_t errcap)
{
    return key_read(path, path, kp, err, errcap);
}

static void key_address_str(char out[MODEL_STR_MAX], const keypair_t *kp)
{
    address_t a;
    address_of_pubkey(&a, &kp->pk);
    address_to_str(out, &a);
}

static int keypair_addr_cmp(const void *x, const void *y)
{
    address_t a, b;
    address_of_pubkey(&a, &((const keypair_t *)x)->pk);
    address_of_pubkey(&b, &((const keypair_t *)y)->pk);
    return hash32_cmp(&a.hash, &b.hash);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Loads keys/staking/<AU…>.key (sorted by address). */
static weft_err staking_load(repo_t *r, char *err, size_t errcap)
{
    char dpath[PATH_MAX];
    if (join(dpath, sizeof dpath, r->dir, "keys/staking") != WEFT_OK)
        return WEFT_E_LIMIT;
    DIR *d = opendir(dpath);
    if (!d) {
        if (errno == ENOENT)
            return WEFT_OK;
        repo_errf(err, errcap, "keys/staking: %s", strerror(errno));
        return WEFT_E_REPO_KEY;
    }
    weft_err e = WEFT_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' || !ends_with(name, ".key"))
            continue; /* ".", "..", hidden and temporary files */
        if (r->staking_count == REPO_MAX_STAKING_KEYS) {
            repo_errf(err, errcap, "keys/staking: more than %d keys", REPO_MAX_STAKING_KEYS);
            e = WEFT_E_REPO_KEY;
            break;
        }
        char path[PATH_MAX], shown[PATH_MAX];
        if (join(path, sizeof path, dpath, name) != WEFT_OK) {
            e = WEFT_E_LIMIT;
            break;
        }
        snprintf(shown, sizeof shown, "keys/staking/%s", name);
        keypair_t *kp = &r->staking_keys[r->staking_count];
        if ((e = key_read(path, shown, kp, err, errcap)) != WEFT_OK)
            break;
        r->staking_count++;
        char a[MODEL_STR_MAX], expect[MODEL_STR_MAX + 8];
        key_address_str(a, kp);
        snprintf(expect, sizeof expect, "%s.key", a);
        if (strcmp(expect, name) != 0) {
            repo_errf(err, errcap, "%s holds the key of %s (the file must be named %s)", shown, a,
                      expect);
            e = WEFT_E_REPO_KEY;
            break;
        }
    }
    closedir(d);
    if (e == WEFT_OK)
        qsort(r->staking_keys, r->staking_count, sizeof *r->staking_keys, keypair_addr_cmp);
    return e;
}

/* ---- init ---------------------------------------------------------------------------------- */

static weft_err init_checked(const char *dir, const repo_init_options *o, char *err, size_t errcap)
{
    char path[PATH_MAX];
    weft_err e;
    if (!o || !o->genesis_path) {
        repo_errf(err, errcap, "no genesis file given (--genesis FILE)");
        return WEFT_E_INVAL;
    }
    if (o->staking_count > REPO_MAX_STAKING_KEYS) {
        repo_errf(err, errcap, "more than %d staking keys", REPO_MAX_STAKING_KEYS);
        return WEFT_E_LIMIT;
    }
    for (size_t i = 0; i < o->staking_count; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(o->staking[i].pk.b, o->staking[j].pk.b, sizeof o->staking[i].pk.b) == 0) {
                char a[MODEL_STR_MAX];
                key_address_str(a, &o->staking[i]);
                repo_errf(err, errcap, "staking key %s given twice", a);
                return WEFT_E_DUPLICATE;
            }
    /* everything is checked before anything is written */
    char *gtext;
    size_t glen;
    e = read_path(o->genesis_path, &gtext, &glen, (size_t)1 << 30);
    if (e != WEFT_OK) {
        repo_errf(err, errcap, "cannot read %s: %s", o->genesis_path,
                  e == WEFT_E_IO || e == WEFT_E_NOT_FOUND ? strerror(errno) : weft_strerror(e));
        return e == WEFT_E_NOT_FOUND ? WEFT_E_IO : e;
    }
    repo_genesis_t g;
    e = repo_genesis_parse_named(&g, o->genesis_path, gtext, glen, err, errcap);
    repo_genesis_free(&g);
    if (e != WEFT_OK) {
        free(gtext);
        return e;
    }
    repo_config_t cfg;
    if (o->config)
        cfg = *o->config;
    else
        repo_config_default(&cfg);
    char *ctext;
    size_t clen;
    if ((e = repo_config_format(&cfg, &ctext, &clen)) != WEFT_OK) {
        free(gtext);
        repo_errf(err, errcap, "out of memory");
        return e;
    }
    repo_config_t again;
    repo_config_default(&again);
    e = repo_config_parse(&again, ctext, clen, err, errcap);
    if (e == WEFT_OK && !repo_config_eq(&again, &cfg)) {
        repo_errf(err, errcap, "the given configuration does not survive config.ini");
        e = WEFT_E_REPO_CONFIG;
    }
    if (e != WEFT_OK)
        goto out;

    /* the directory, the lock, then the refusal to overwrite */
    if ((e = mkdir_p(dir, 0755)) != WEFT_OK) {
        repo_errf(err, errcap, "cannot create %s: %s", dir,
                  e == WEFT_E_LIMIT ? "path too long" : strerror(errno));
        goto out;
    }
    const char *const markers[] = {"config.ini", "genesis.json"};
    for (size_t i = 0; i < 2; i++) {
        if ((e = join(path, sizeof path, dir, markers[i])) != WEFT_OK)
            goto out;
        if (exists(path)) {
            repo_errf(err, errcap, "%s already holds a repository (%s exists)", dir, markers[i]);
            e = WEFT_E_EXISTS;
            goto out;
        }
    }
    int lock_fd;
    if ((e = lock_take(dir, &lock_fd, err, errcap)) != WEFT_OK)
        goto out;
    for (size_t i = 0; i < 2; i++) { /* again under the lock: a concurrent init may have won */
        if ((e = join(path, sizeof path, dir, markers[i])) != WEFT_OK)
            goto unlock;
        if (exists(path)) {
            repo_errf(err, errcap, "%s already holds a repository (%s exists)", dir, markers[i]);
            e = WEFT_E_EXISTS;
            goto unlock;
        }
    }

    keypair_t node;
    if (o->node_key)
        node = *o->node_key;
    else {
        uint8_t seed[32];
        crypto_random(seed, sizeof seed);
        keypair_from_seed(&node, seed);
        crypto_wipe(seed, sizeof seed);
    }
    if ((e = join(path, sizeof path, dir, "keys")) == WEFT_OK &&
        (e = mkdir_p(path, 0700)) == WEFT_OK &&
        (e = join(path, sizeof path, dir, "keys/node.key")) == WEFT_OK)
        e = key_write(path, &node);
    keypair_wipe(&node);
    if (e != WEFT_OK) {
        repo_errf(err, errcap, "%s: %s", path,
                  e == WEFT_E_EXISTS ? "already exists" : strerror(errno));
        goto unlock;
    }
    if ((e = join(path, sizeof path, dir, "keys/staking")) != WEFT_OK ||
        (e = mkdir_p(path, 0700)) != WEFT_OK) {
        repo_errf(err, errcap, "cannot create %s: %s", path, strerror(errno));
        goto unlock;
    }
    for (size_t i = 0; i < o->staking_count; i++) {
        char a[MODEL_STR_MAX], name[MODEL_STR_MAX + 32];
        key_address_str(a, &o->staking[i]);
        snprintf(name, sizeof name, "keys/staking/%s.key", a);
        if ((e = join(path, sizeof path, dir, name)) == WEFT_OK)
            e = key_write(path, &o->staking[i]);
        if (e != WEFT_OK) {
            repo_errf(err, errcap, "%s: %s", path,
                      e == WEFT_E_EXISTS ? "already exists" : strerror(errno));
            goto unlock;
        }
    }
    /* genesis.json: the given file, byte for byte (nodes can compare it); config.ini last */
    if ((e = join(path, sizeof path, dir, "genesis.json")) == WEFT_OK)
        e = repo_write_atomic(path, gtext, glen, 0644);
    if (e == WEFT_OK && (e = join(path, sizeof path, dir, "config.ini")) == WEFT_OK)
        e = repo_write_atomic(path, ctext, clen, 0644);
    if (e != WEFT_OK)
        repo_errf(err, errcap, "cannot write %s: %s", path, strerror(errno));
unlock:
    close(lock_fd);
out:
    free(gtext);
    free(ctext);
    return e;
}

weft_err repo_init(const char *dir, const repo_init_options *o, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    return init_checked(dir, o, err, errcap);
}

/* ---- open / close -------------------------------------------------------------------------- */

void repo_close(repo_t *r)
{
    if (!r)
        return;
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* releases the flock */
    keypair_wipe(&r->node_key);
    for (size_t i = 0; i < r->staking_count; i++)
        keypair_wipe(&r->staking_keys[i]);
    free(r->staking_keys);
    repo_genesis_free(&r->genesis);
    free(r->dir);
    free(r);
}

static weft_err open_steps(repo_t *r, const char *const (*overrides)[2], size_t n_overrides)
{
    char path[PATH_MAX];
    char *text;
    size_t len;
    weft_err e;
    char *err = r->err;
    size_t errcap = sizeof r->err;

    /* config: defaults, config.ini, then the overrides */
    repo_config_default(&r->config);
    if ((e = repo_path(r, "config.ini", path, sizeof path)) != WEFT_OK)
        return e;
    if ((e = read_path(path, &text, &len, (size_t)1 << 20)) != WEFT_OK) {
        repo_errf(err, errcap, "cannot read %s: %s", path,
                  e == WEFT_E_LIMIT ? "larger than 1 MiB" : strerror(errno));
        return e == WEFT_E_NOT_FOUND ? WEFT_E_REPO_MISSING : e;
    }
    e = repo_config_parse(&r->config, text, len, err, errcap);
    free(text);
    if (e != WEFT_OK)
        return e;
    for (size_t i = 0; i < n_overrides; i++) {
        char detail[200];
        if ((e = repo_config_set(&r->config, overrides[i][0], overrides[i][1], detail,
                                 sizeof detail)) != WEFT_OK) {
            repo_errf(err, errcap, "override: %s", detail);
            return e;
        }
    }

    /* genesis */
    if ((e = repo_path(r, "genesis.json", path, sizeof path)) != WEFT_OK)
        return e;
    if ((e = read_path(path, &text, &len, (size_t)1 << 30)) != WEFT_OK) {
        repo_errf(err, errcap, "cannot read %s: %s", path, strerror(errno));
        return e == WEFT_E_NOT_FOUND ? WEFT_E_REPO_MISSING : e;
    }
    e = repo_genesis_parse(&r->genesis, text, len, err, errcap);
    free(text);
    if (e != WEFT_OK)
        return e;

    /* keys */
    if ((e = repo_path(r, "keys/node.key", path, sizeof path)) != WEFT_OK)
        return e;
    if ((e = key_read(path, "keys/node.key", &r->node_key, err, errcap)) != WEFT_OK)
        return e;
    r->staking_keys = calloc(REPO_MAX_STAKING_KEYS, sizeof *r->staking_keys);
    if (!r->staking_keys) {
        repo_errf(err, errcap, "out of memory");
        return WEFT_E_NOMEM;
    }
    return staking_load(r, err, errcap);
}

weft_err repo_open(repo_t **out, const char *dir, const char *const (*overrides)[2],
                   size_t n_overrides, char *err, size_t errcap)
{
    *out = NULL;
    if (err && errcap)
        err[0] = '\0';
    char abs[PATH_MAX], path[PATH_MAX];
    bool missing = realpath(dir, abs) == NULL;
    for (int i = 0; !missing && i < 2; i++)
        missing = join(path, sizeof path, abs, i ? "genesis.json" : "config.ini") != WEFT_OK ||
                  !exists(path);
    if (missing) {
        repo_errf(err, errcap,
                  "%s is not a weft repository (weftd init --repo %s --genesis FILE creates one)",
                  dir, dir);
        return WEFT_E_REPO_MISSING;
    }
    repo_t *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(abs))) {
        free(r);
        repo_errf(err, errcap, "out of memory");
        return WEFT_E_NOMEM;
    }
    r->lock_fd = -1;
    weft_err e = lock_take(abs, &r->lock_fd, r->err, sizeof r->err);
    if (e == WEFT_OK)
        e = open_steps(r, overrides, n_overrides);
    if (e != WEFT_OK) {
        repo_errf(err, errcap, "%s", r->err);
        repo_close(r);
        return e;
    }
    *out = r;
    return WEFT_OK;
}

/* ---- staking keys -------------------------------------------------------------------------- */

weft_err repo_staking_add(repo_t *r, const keypair_t *kp)
{
    char a[MODEL_STR_MAX], name[MODEL_STR_MAX + 32], path[PATH_MAX];
    key_address_str(a, kp);
    for (size_t i = 0; i < r->staking_count; i++)
        if (memcmp(r->staking_keys[i].pk.b, kp->pk.b, sizeof kp->pk.b) == 0) {
            repo_errf(r->err, sizeof r->err, "staking key %s is already installed", a);
            return WEFT_E_EXISTS;
        }
    if (r->staking_count == REPO_MAX_STAKING_KEYS) {
        repo_errf(r->err, sizeof r->err, "already %d staking keys", REPO_MAX_STAKING_KEYS);
        return WEFT_E_LIMIT;
    }
    weft_err e;
    if ((e = repo_path(r, "keys/staking", path, sizeof path)) != WEFT_OK ||
        (e = mkdir_p(path, 0700)) != WEFT_OK) {
        repo_errf(r->err, sizeof r->err, "cannot create keys/staking: %s", strerror(errno));
        return e;
    }
    snprintf(name, sizeof name, "keys/staking/%s.key", a);
    if ((e = repo_path(r, name, path, sizeof path)) != WEFT_OK)
        return e;
    if ((e = key_write(path, kp)) != WEFT_OK) {
        repo_errf(r->err, sizeof r->err, "%s: %s", name,
                  e == WEFT_E_EXISTS ? "already exists" : strerror(errno));
        return e;
    }
    /* keep address order */
    size_t at = r->staking_count;
    while (at > 0 && keypair_addr_cmp(&r->staking_keys[at - 1], kp) > 0)
        at--;
    memmove(&r->staking_keys[at + 1], &r->staking_keys[at],
            (r->staking_count - at) * sizeof *r->staking_keys);
    r->staking_keys[at] = *kp;
    r->staking_count++;
    return WEFT_OK;
}

weft_err repo_staking_remove(repo_t *r, const address_t *addr)
{
    char a[MODEL_STR_MAX], name[MODEL_STR_MAX + 32], path[PATH_MAX];
    address_to_str(a, addr);
    size_t i = 0;
    for (; i < r->staking_count; i++) {
        address_t k;
        address_of_pubkey(&k, &r->staking_keys[i].pk);
        if (address_eq(&k, addr))
            break;
    }
    if (i == r->staking_count) {
        repo_errf(r->err, sizeof r->err, "no staking key for %s", a);
        return WEFT_E_NOT_FOUND;
    }
    snprintf(name, sizeof name, "keys/staking/%s.key", a);
    weft_err e;
    if ((e = repo_path(r, name, path, sizeof path)) != WEFT_OK)
        return e;
    if (unlink(path) != 0 && errno != ENOENT) {
        repo_errf(r->err, sizeof r->err, "cannot remove %s: %s", name, strerror(errno));
        return WEFT_E_IO;
    }
    (void)fsync_parent(path);
    keypair_wipe(&r->staking_keys[i]);
    memmove(&r->staking_keys[i], &r->staking_keys[i + 1],
            (r->staking_count - i - 1) * sizeof *r->staking_keys);
    r->staking_count--;
    keypair_wipe(&r->staking_keys[r->staking_count]);
    return WEFT_OK;
}

/* ---- api.json / api.token ------------------------------------------------------------------ */

weft_err repo_write_endpoints(repo_t *r, const repo_endpoints_t *e, char token[65])
{
    uint8_t raw[32];
    char tok[65];
    crypto_random(raw, sizeof raw);
    hex_encode(tok, sizeof tok, raw, sizeof raw);
    crypto_wipe(raw, sizeof raw);
    weft_err err = repo_write_endpoints_token(r, e, tok);
    if (err == WEFT_OK && token)
        memcpy(token, tok, 65);
    crypto_wipe(tok, sizeof tok);
    return err;
}

weft_err repo_write_endpoints_token(repo_t *r, const repo_endpoints_t *e, const char *tok)
{
    if (strlen(tok) != 64) {
        repo_errf(r->err, sizeof r->err, "api.token: a token is 64 hex characters");
        return WEFT_E_INVAL;
    }
    char path[PATH_MAX], node_id[MODEL_STR_MAX];
    node_id_to_str(node_id, &r->node_key.pk);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "public_api", e->api_public,
                          "private_api", e->api_private, "metrics", e->metrics, "p2p", e->p2p,
                          "pid", (json_int_t)getpid(), "node_id", node_id);
    if (!o) {
        repo_errf(r->err, sizeof r->err, "api.json: cannot build (bad endpoint text?)");
        return WEFT_E_INVAL;
    }
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return WEFT_E_NOMEM;
    weft_err err;
    /* the token first: a reader that finds api.json finds the token of this run */
    if ((err = repo_path(r, "api.token", path, sizeof path)) == WEFT_OK)
        err = repo_write_atomic(path, tok, 64, 0600);
    if (err == WEFT_OK) {
        size_t n = strlen(text);
        text[n] = '\n'; /* json_dumps leaves room: replace the NUL, write n+1 bytes */
        if ((err = repo_path(r, "api.json", path, sizeof path)) == WEFT_OK)
            err = repo_write_atomic(path, text, n + 1, 0644);
    }
    if (err != WEFT_OK)
        repo_errf(r->err, sizeof r->err, "cannot write %s: %s", path, strerror(errno));
    free(text);
    return err;
}

void repo_clear_endpoints(repo_t *r)
{
    char path[PATH_MAX];
    if (repo_path(r, "api.json", path, sizeof path) == WEFT_OK)
        (void)unlink(path);
    if (repo_path(r, "api.token", path, sizeof path) == WEFT_OK)
        (void)unlink(path);
}

static bool copy_str(char out[REPO_ADDR_MAX], const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || json_string_length(v) >= REPO_ADDR_MAX)
        return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

weft_err repo_read_endpoints(const char *dir, repo_endpoints_t *e, char token[65])
{
    char path[PATH_MAX];
    char *text;
    size_t len;
    memset(e, 0, sizeof *e);
    weft_err err;
    if ((err = join(path, sizeof path, dir, "api.json")) != WEFT_OK ||
        (err = read_path(path, &text, &len, (size_t)1 << 20)) != WEFT_OK)
        return err;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    bool ok = json_is_object(o) && copy_str(e->api_public, o, "public_api") &&
              copy_str(e->api_private, o, "private_api") && copy_str(e->metrics, o, "metrics") &&
              copy_str(e->p2p, o, "p2p");
    json_decref(o);
    if (!ok) {
        memset(e, 0, sizeof *e);
        return WEFT_E_CORRUPT;
    }
    if (!token)
        return WEFT_OK;
    if ((err = join(path, sizeof path, dir, "api.token")) != WEFT_OK ||
        (err = read_path(path, &text, &len, 4096)) != WEFT_OK)
        return err;
    if (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    uint8_t raw[32];
    ok = len == 64 && hex_decode(raw, sizeof raw, text) == 32;
    if (ok)
        memcpy(token, text, 65);
    crypto_wipe(raw, sizeof raw);
    crypto_wipe(text, len);
    free(text);
    return ok ? WEFT_OK : WEFT_E_CORRUPT;
}
