/* The weft wallet file: accounts with their secret keys sealed under a password.
 *
 * Format (JSON, mode 0600, replaced atomically through a temporary file and rename):
 *   {"weft_wallet": 1,
 *    "kdf": {"algorithm": "argon2id13", "opslimit": N, "memlimit": BYTES, "salt": HEX16},
 *    "check": {"nonce": HEX24, "box": HEX},            the sealed constant CHECK_TEXT: tells a
 *                                                      wrong password apart before anything else
 *    "accounts": [{"address": "AU…", "public_key": "P…", "nonce": HEX24, "secret_box": HEX}]}
 * Each secret box is crypto_secretbox_easy (XSalsa20-Poly1305) of the 32-byte secret key seed
 * under key = crypto_pwhash(password, salt) (Argon2id13), with a fresh random nonce per box.
 * Addresses and public keys stay readable without the password (wallet list, balance).
 *
 * Reading is bounded (file size, account count, every field checked: the public key must match
 * the address, limits within libsodium's); a file readable by group or others is refused, like
 * the repository's key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "crypto/crypto.h"

#define WALLET_MAX_BYTES ((size_t)4 << 20)
#define WALLET_MAX_ACCOUNTS 10000
#define SALT_LEN crypto_pwhash_SALTBYTES
#define NONCE_LEN crypto_secretbox_NONCEBYTES
#define MAC_LEN crypto_secretbox_MACBYTES
#define CHECK_TEXT "weft wallet v1"
#define PASSWORD_MAX 1024
/* Limits a wallet file may ask for (a hostile file must not make the client allocate
 * gigabytes or spin for minutes). */
#define MAX_OPSLIMIT crypto_pwhash_OPSLIMIT_SENSITIVE
#define MAX_MEMLIMIT ((size_t)1 << 30)

struct wallet_account {
    address_t addr;
    pubkey_t pk;
    uint8_t nonce[NONCE_LEN];
    uint8_t box[32 + MAC_LEN];
};

struct cli_wallet {
    char path[4096];
    bool exists; /* the file exists (else: kdf, check are chosen at the first save) */
    uint8_t salt[SALT_LEN];
    unsigned long long opslimit;
    size_t memlimit;
    uint8_t check_nonce[NONCE_LEN];
    uint8_t check_box[sizeof CHECK_TEXT - 1 + MAC_LEN];
    struct wallet_account *acc;
    size_t n, cap;
    uint8_t key[crypto_secretbox_KEYBYTES];
    bool unlocked;
};

static int wallet_error(const cli_wallet *w, const char *fmt, ...) WEFT_PRINTF(2, 3);
static int wallet_error(const cli_wallet *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "weft: wallet %s: %s\n", w->path, msg);
    return CLI_EXIT_USAGE;
}

const char *wallet_path(const cli_wallet *w) { return w->path; }
size_t wallet_count(const cli_wallet *w) { return w->n; }
const address_t *wallet_address(const cli_wallet *w, size_t i) { return &w->acc[i].addr; }
const pubkey_t *wallet_pubkey(const cli_wallet *w, size_t i) { return &w->acc[i].pk; }

long wallet_find(const cli_wallet *w, const address_t *a)
{
    for (size_t i = 0; i < w->n; i++)
        if (address_eq(&w->acc[i].addr, a))
            return (long)i;
    return -1;
}

void wallet_close(cli_wallet *w)
{
    if (!w)
        return;
    crypto_wipe(w->key, sizeof w->key);
    free(w->acc);
    free(w);
}

/* ---- reading --------------------------------------------------------------------------------- */

static bool hex_field(uint8_t *out, size_t len, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && strlen(s) == 2 * len && hex_decode(out, len, s) == (long)len;
}

static int default_path(char out[4096])
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, 4096, "%s/weft/wallet.json", xdg);
    else if (home && *home)
        snprintf(out, 4096, "%s/.config/weft/wallet.json", home);
    else
        return cli_error(WEFT_E_USAGE, "no HOME: give the wallet file with --wallet F");
    return CLI_EXIT_OK;
}

static int parse_wallet(cli_wallet *w, const char *text, size_t len)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return wallet_error(w, "not JSON (%s, line %d)", je.text, je.line);
    int rc = CLI_EXIT_USAGE;
    json_t *kdf = json_object_get(o, "kdf"), *check = json_object_get(o, "check");
    json_t *accounts = json_object_get(o, "accounts");
    json_t *ops = json_object_get(kdf, "opslimit"), *mem = json_object_get(kdf, "memlimit");
    const char *alg = json_string_value(json_object_get(kdf, "algorithm"));
    if (json_integer_value(json_object_get(o, "weft_wallet")) != 1 || !alg ||
        strcmp(alg, "argon2id13") != 0 || !json_is_integer(ops) || !json_is_integer(mem) ||
        !hex_field(w->salt, SALT_LEN, kdf, "salt") ||
        !hex_field(w->check_nonce, NONCE_LEN, check, "nonce") ||
        !hex_field(w->check_box, sizeof w->check_box, check, "box") || !json_is_array(accounts)) {
        wallet_error(w, "not a weft wallet (version 1: kdf, check and accounts expected)");
        goto out;
    }
    json_int_t o_lim = json_integer_value(ops), m_lim = json_integer_value(mem);
    if (o_lim < (json_int_t)crypto_pwhash_OPSLIMIT_MIN || o_lim > (json_int_t)MAX_OPSLIMIT ||
        m_lim < (json_int_t)crypto_pwhash_MEMLIMIT_MIN || m_lim > (json_int_t)MAX_MEMLIMIT) {
        wallet_error(w, "key derivation limits out of range");
        goto out;
    }
    w->opslimit = (unsigned long long)o_lim;
    w->memlimit = (size_t)m_lim;
    size_t n = json_array_size(accounts);
    if (n > WALLET_MAX_ACCOUNTS) {
        wallet_error(w, "more than %d accounts", WALLET_MAX_ACCOUNTS);
        goto out;
    }
    w->acc = calloc(n ? n : 1, sizeof *w->acc);
    if (!w->acc) {
        rc = cli_error(WEFT_E_NOMEM, NULL);
        goto out;
    }
    w->cap = n ? n : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(accounts, i);
        struct wallet_account *x = &w->acc[i];
        const char *as = json_string_value(json_object_get(a, "address"));
        const char *ps = json_string_value(json_object_get(a, "public_key"));
        address_t derived;
        if (!as || !ps || address_parse(&x->addr, as) != WEFT_OK ||
            pubkey_parse(&x->pk, ps) != WEFT_OK || !hex_field(x->nonce, NONCE_LEN, a, "nonce") ||
            !hex_field(x->box, sizeof x->box, a, "secret_box")) {
            wallet_error(w, "account %zu is malformed", i);
            goto out;
        }
        address_of_pubkey(&derived, &x->pk);
        if (!address_eq(&derived, &x->addr) || wallet_find(w, &x->addr) >= 0) {
            wallet_error(w, "account %zu: %s", i,
                         address_eq(&derived, &x->addr) ? "listed twice"
                                                        : "public key and address do not match");
            goto out;
        }
        w->n++;
    }
    w->exists = true;
    rc = CLI_EXIT_OK;
out:
    json_decref(o);
    return rc;
}

int wallet_open(cli_wallet **out, const char *path)
{
    *out = NULL;
    cli_wallet *w = calloc(1, sizeof *w);
    if (!w)
        return cli_error(WEFT_E_NOMEM, NULL);
    int rc = CLI_EXIT_OK;
    if (path)
        snprintf(w->path, sizeof w->path, "%s", path);
    else
        rc = default_path(w->path);
    if (rc) {
        wallet_close(w);
        return rc;
    }
    int fd = open(w->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) { /* a new wallet */
            *out = w;
            return CLI_EXIT_OK;
        }
        rc = wallet_error(w, "cannot open: %s", strerror(errno));
        wallet_close(w);
        return rc;
    }
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = wallet_error(w, "not a regular file");
    else if (st.st_mode & 077)
        rc = wallet_error(w, "readable by group or others (mode %03o): chmod 600 %s",
                          (unsigned)(st.st_mode & 0777), w->path);
    else if ((size_t)st.st_size > WALLET_MAX_BYTES)
        rc = wallet_error(w, "larger than %zu bytes", WALLET_MAX_BYTES);
    else if (!(text = malloc((size_t)st.st_size + 1)))
        rc = cli_error(WEFT_E_NOMEM, NULL);
    else {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (got != (size_t)st.st_size)
            rc = wallet_error(w, "cannot read: %s", strerror(errno));
        else
            rc = parse_wallet(w, text, got);
    }
    close(fd);
    free(text);
    if (rc) {
        wallet_close(w);
        return rc;
    }
    *out = w;
    return CLI_EXIT_OK;
}

/* ---- password -------------------------------------------------------------------------------- */

/* Reads one line from the terminal without echo.  Returns false when there is no terminal. */
static bool prompt(const char *question, char *out, size_t cap)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct termios old, quiet;
    bool tty = tcgetattr(fd, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, question, strlen(question)) < 0) { /* best effort */
    }
    size_t n = 0;
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n')
        if (n + 1 < cap)
            out[n++] = c;
    out[n] = '\0';
    if (tty)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
    }
    close(fd);
    return tty;
}

static int get_password(const cli_wallet *w, bool twice, char out[PASSWORD_MAX])
{
    const char *env = getenv("WEFT_WALLET_PASSWORD");
    if (env) {
        if (strlen(env) >= PASSWORD_MAX)
            return wallet_error(w, "WEFT_WALLET_PASSWORD is longer than %d bytes",
                                PASSWORD_MAX - 1);
        snprintf(out, PASSWORD_MAX, "%s", env);
        return CLI_EXIT_OK;
    }
    char q[4200];
    snprintf(q, sizeof q, "%s for %s: ", twice ? "new wallet password" : "wallet password",
             w->path);
    if (!prompt(q, out, PASSWORD_MAX))
        return wallet_error(w, "a password is needed: set WEFT_WALLET_PASSWORD or run in a "
                               "terminal");
    if (twice) {
        char again[PASSWORD_MAX];
        bool same = prompt("again: ", again, sizeof again) && strcmp(out, again) == 0;
        crypto_wipe(again, sizeof again);
        if (!same) {
            crypto_wipe(out, PASSWORD_MAX);
            return wallet_error(w, "the two passwords differ");
        }
    }
    return CLI_EXIT_OK;
}

/* Derives the key from the password (a new wallet: picks the salt and limits and seals the check
 * text) and checks it against the sealed check text. */
static int unlock(cli_wallet *w)
{
    if (w->unlocked)
        return CLI_EXIT_OK;
    char pw[PASSWORD_MAX];
    int rc = get_password(w, !w->exists, pw);
    if (rc)
        return rc;
    if (!w->exists) {
        crypto_random(w->salt, sizeof w->salt);
        w->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        w->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    }
    if (crypto_pwhash(w->key, sizeof w->key, pw, strlen(pw), w->salt, w->opslimit, w->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        crypto_wipe(pw, sizeof pw);
        return cli_error(WEFT_E_NOMEM, "deriving the wallet key");
    }
    crypto_wipe(pw, sizeof pw);
    if (!w->exists) {
        crypto_random(w->check_nonce, sizeof w->check_nonce);
        crypto_secretbox_easy(w->check_box, (const uint8_t *)CHECK_TEXT, sizeof CHECK_TEXT - 1,
                              w->check_nonce, w->key);
    } else {
        uint8_t text[sizeof CHECK_TEXT - 1];
        if (crypto_secretbox_open_easy(text, w->check_box, sizeof w->check_box, w->check_nonce,
                                       w->key) != 0 ||
            memcmp(text, CHECK_TEXT, sizeof text) != 0) {
            crypto_wipe(w->key, sizeof w->key);
            return wallet_error(w, "wrong password");
        }
    }
    w->unlocked = true;
    return CLI_EXIT_OK;
}

/* ---- writing --------------------------------------------------------------------------------- */

static json_t *hex_json(const uint8_t *b, size_t len) { return cli_hex(b, len); }

/* Creates the parent directories of path (mode 0700) as needed. */
static void make_parents(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
}

static int save(cli_wallet *w)
{
    json_t *accounts = json_array();
    for (size_t i = 0; accounts && i < w->n; i++) {
        char as[MODEL_STR_MAX], ps[MODEL_STR_MAX];
        address_to_str(as, &w->acc[i].addr);
        pubkey_to_str(ps, &w->acc[i].pk);
        if (json_array_append_new(
                accounts, json_pack("{s:s,s:s,s:o,s:o}", "address", as, "public_key", ps, "nonce",
                                    hex_json(w->acc[i].nonce, NONCE_LEN), "secret_box",
                                    hex_json(w->acc[i].box, sizeof w->acc[i].box))) != 0) {
            json_decref(accounts);
            accounts = NULL;
        }
    }
    json_t *o = json_pack("{s:i,s:{s:s,s:I,s:I,s:o},s:{s:o,s:o},s:o}", "weft_wallet", 1, "kdf",
                          "algorithm", "argon2id13", "opslimit", (json_int_t)w->opslimit,
                          "memlimit", (json_int_t)w->memlimit, "salt", hex_json(w->salt, SALT_LEN),
                          "check", "nonce", hex_json(w->check_nonce, NONCE_LEN), "box",
                          hex_json(w->check_box, sizeof w->check_box), "accounts", accounts);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!text)
        return cli_error(WEFT_E_NOMEM, NULL);
    make_parents(w->path);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", w->path, (long)getpid());
    int rc = CLI_EXIT_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = wallet_error(w, "cannot write %s: %s", tmp, strerror(errno));
    } else {
        size_t len = strlen(text), done = 0;
        while (done < len) {
            ssize_t r = write(fd, text + done, len - done);
            if (r <= 0)
                break;
            done += (size_t)r;
        }
        bool ok = done == len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp, w->path) != 0) {
            rc = wallet_error(w, "cannot write: %s", strerror(errno));
            unlink(tmp);
        }
    }
    free(text);
    if (!rc)
        w->exists = true;
    return rc;
}

int wallet_add(cli_wallet *w, const keypair_t *kp)
{
    address_t a;
    address_of_pubkey(&a, &kp->pk);
    if (wallet_find(w, &a) >= 0) {
        char as[MODEL_STR_MAX];
        address_to_str(as, &a);
        return wallet_error(w, "%s is already in the wallet", as);
    }
    if (w->n >= WALLET_MAX_ACCOUNTS)
        return wallet_error(w, "full (%d accounts)", WALLET_MAX_ACCOUNTS);
    int rc = unlock(w);
    if (rc)
        return rc;
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 4;
        struct wallet_account *v = realloc(w->acc, nc * sizeof *v);
        if (!v)
            return cli_error(WEFT_E_NOMEM, NULL);
        w->acc = v;
        w->cap = nc;
    }
    struct wallet_account *x = &w->acc[w->n];
    memset(x, 0, sizeof *x);
    x->addr = a;
    x->pk = kp->pk;
    crypto_random(x->nonce, sizeof x->nonce);
    crypto_secretbox_easy(x->box, kp->seed, sizeof kp->seed, x->nonce, w->key);
    w->n++;
    rc = save(w);
    if (rc)
        w->n--;
    return rc;
}

int wallet_keypair(cli_wallet *w, size_t i, keypair_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = unlock(w);
    if (rc)
        return rc;
    uint8_t seed[32];
    if (crypto_secretbox_open_easy(seed, w->acc[i].box, sizeof w->acc[i].box, w->acc[i].nonce,
                                   w->key) != 0)
        return wallet_error(w, "account %zu cannot be opened (damaged file?)", i);
    keypair_from_seed(out, seed);
    crypto_wipe(seed, sizeof seed);
    if (memcmp(out->pk.b, w->acc[i].pk.b, sizeof out->pk.b) != 0) {
        keypair_wipe(out);
        return wallet_error(w, "account %zu: the secret key does not match its public key", i);
    }
    return CLI_EXIT_OK;
}

int wallet_pick(const cli_wallet *w, const char *from, size_t *index)
{
    if (from) {
        address_t a;
        int rc = cli_parse_address(&a, from, "--from");
        if (rc)
            return rc;
        long i = wallet_find(w, &a);
        if (i < 0)
            return wallet_error(w,
                                "%s is not in the wallet (weft wallet list; weft wallet "
                                "import)",
                                from);
        *index = (size_t)i;
        return CLI_EXIT_OK;
    }
    if (w->n == 1) {
        *index = 0;
        return CLI_EXIT_OK;
    }
    if (w->n == 0)
        return wallet_error(w, "no account: weft wallet new, or weft wallet import");
    return wallet_error(w, "%zu accounts: choose one with --from ADDRESS", w->n);
}
