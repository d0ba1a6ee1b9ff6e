/*
 * map.c - lookup tables: compile text into LMDB, open read-only, look up
 * (mta-maps(5)).
 *
 * A compiled map is one LMDB file (MDB_NOSUBDIR) that is never written in
 * place: map_compile builds a new file and renames it over the old one,
 * so readers need no lock (MDB_NOLOCK) and never see a half-built map.
 * Trusts: nothing in the text (every line is length-checked); the
 * compiled file is trusted as our own output.
 * Never: leaves a partial map under the final name.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "map.h"
#include "mta_limits.h"

#define MAP_MIN_SIZE (1L << 20) /* initial LMDB map size */
#define MAP_GROW_TRIES 6	/* doublings after MDB_MAP_FULL */

int
map_db_path(const char *src, char *out, size_t len)
{
	int w = snprintf(out, len, "%s.lmdb", src);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* fold - lower-case a key in place. */
static void
fold(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* reader of logical lines: comments and blank lines skipped, and (for
 * aliases) lines that start with white space continue the previous one */
struct lines {
	FILE *f;
	const char *name;
	long lineno, start; /* current physical line, first of the logical */
	char *pending;	    /* a physical line read ahead */
	int cont;	    /* continuations allowed */
};

static int
physical(struct lines *l, char **out, char *err, size_t errlen)
{
	static char buf[LIM_MAP_LINE + 2];

	if (l->pending) {
		*out = l->pending;
		l->pending = NULL;
		return 1;
	}
	for (;;) {
		if (fgets(buf, sizeof(buf), l->f) == NULL)
			return ferror(l->f) ? -1 : 0;
		l->lineno++;
		size_t n = strlen(buf);
		if (n > LIM_MAP_LINE ||
		    (n == sizeof(buf) - 1 && buf[n - 1] != '\n')) {
			snprintf(err, errlen,
				 "%s:%ld: line longer than %d bytes", l->name,
				 l->lineno, LIM_MAP_LINE);
			return -2;
		}
		char *t = trim(buf);
		if (*t == 0 || *t == '#')
			continue;
		*out = buf;
		return 1;
	}
}

/* logical - the next entry's text into out; 0 at the end, <0 on error. */
static int
logical(struct lines *l, char *out, size_t len, char *err, size_t errlen)
{
	static char save[LIM_MAP_LINE + 2];
	char *p;
	int r = physical(l, &p, err, errlen);

	if (r <= 0)
		return r;
	l->start = l->lineno;
	if (*p == ' ' || *p == '\t') {
		snprintf(err, errlen,
			 "%s:%ld: continuation line without an "
			 "entry before it",
			 l->name, l->lineno);
		return -2;
	}
	snprintf(out, len, "%s", trim(p));
	while (l->cont && (r = physical(l, &p, err, errlen)) == 1) {
		if (*p != ' ' && *p != '\t') {
			snprintf(save, sizeof(save), "%s", p);
			l->pending = save;
			break;
		}
		size_t n = strlen(out);
		int w = snprintf(out + n, len - n, " %s", trim(p));
		if (w < 0 || (size_t)w >= len - n) {
			snprintf(err, errlen,
				 "%s:%ld: entry longer than %d "
				 "bytes",
				 l->name, l->lineno, LIM_MAP_LINE);
			return -2;
		}
	}
	return r < 0 ? r : 1;
}

/* split - an entry into key and value per syntax. */
static int
split(char *line, enum map_syntax syn, char **key, char **val)
{
	char *p;

	if (syn == MAP_SYNTAX_ALIASES) {
		p = strchr(line, ':');
		if (p == NULL)
			return -1;
		*p++ = 0;
	} else {
		p = line + strcspn(line, " \t");
		if (*p)
			*p++ = 0;
	}
	*key = trim(line);
	*val = trim(p);
	if (syn == MAP_SYNTAX_ALIASES && (*key)[strcspn(*key, " \t")] != 0)
		return -1;
	return **key == 0 || **val == 0 ? -1 : 0;
}

static long
fill(MDB_env *env, FILE *f, const char *src, enum map_syntax syn, char *err,
     size_t errlen)
{
	static char line[LIM_MAP_LINE + 2];
	struct lines l = {
	    .f = f, .name = src, .cont = syn == MAP_SYNTAX_ALIASES};
	MDB_txn *txn;
	MDB_dbi dbi;
	long count = 0;
	int r, rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
		snprintf(err, errlen, "%s: lmdb: %s", src, mdb_strerror(rc));
		return -1;
	}
	while ((r = logical(&l, line, sizeof(line), err, errlen)) == 1) {
		char *k, *v;
		if (split(line, syn, &k, &v) != 0) {
			snprintf(err, errlen, "%s:%ld: expected \"%s\"", src,
				 l.start,
				 syn == MAP_SYNTAX_ALIASES ? "name: target, ..."
							   : "key value");
			goto fail;
		}
		fold(k);
		if (strlen(k) >= LIM_MAP_KEY || strlen(v) >= LIM_MAP_VALUE) {
			snprintf(err, errlen, "%s:%ld: key or value too long",
				 src, l.start);
			goto fail;
		}
		MDB_val mk = {strlen(k), k}, mv = {strlen(v) + 1, v};
		rc = mdb_put(txn, dbi, &mk, &mv, MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST) {
			snprintf(err, errlen, "%s:%ld: duplicate key \"%s\"",
				 src, l.start, k);
			goto fail;
		}
		if (rc != 0 || ++count > LIM_MAP_ENTRIES) {
			if (rc == MDB_MAP_FULL) {
				mdb_txn_abort(txn);
				return -2;
			}
			snprintf(err, errlen, "%s:%ld: %s", src, l.start,
				 rc ? mdb_strerror(rc) : "too many entries");
			goto fail;
		}
	}
	if (r == -1)
		snprintf(err, errlen, "%s: read: %s", src, strerror(errno));
	if (r < 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		snprintf(err, errlen, "%s: lmdb commit: %s", src,
			 mdb_strerror(rc));
		return rc == MDB_MAP_FULL ? -2 : -1;
	}
	return count;
fail:
	mdb_txn_abort(txn);
	return -1;
}

/* build - one attempt at mapsize; -2 when the map was too small. */
static long
build(const char *src, const char *tmp, size_t mapsize, enum map_syntax syn,
      char *err, size_t errlen)
{
	MDB_env *env;
	FILE *f;
	long n;
	int rc;

	if ((f = fopen(src, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	unlink(tmp);
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, mapsize)) != 0 ||
	    (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK, 0644)) !=
		0) {
		snprintf(err, errlen, "%s: lmdb: %s", tmp, mdb_strerror(rc));
		if (env)
			mdb_env_close(env);
		fclose(f);
		return -1;
	}
	n = fill(env, f, src, syn, err, errlen);
	if (n >= 0 && (rc = mdb_env_sync(env, 1)) != 0) {
		snprintf(err, errlen, "%s: sync: %s", tmp, mdb_strerror(rc));
		n = -1;
	}
	mdb_env_close(env);
	fclose(f);
	return n;
}

/* dir_of - the directory part of a path ("." when none). */
static void
dir_of(const char *path, char *out, size_t len)
{
	const char *s = strrchr(path, '/');

	if (s == NULL)
		snprintf(out, len, ".");
	else if (s == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(s - path), path);
}

/* narrow_mode - the compiled file gets no permission the text lacks: a
 * password map kept 0600 (smtp_sasl_password_map) must not come out
 * world-readable, after every rebuild (the rename makes a new file) */
static int
narrow_mode(const char *tmp, mode_t src_mode, char *err, size_t errlen)
{
	struct stat t;

	if (stat(tmp, &t) != 0 ||
	    chmod(tmp, t.st_mode & src_mode & 0644) != 0) {
		snprintf(err, errlen, "%s: chmod: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

long
map_compile(const char *src, const char *dst, enum map_syntax syn, char *err,
	    size_t errlen)
{
	char tmp[4200], dir[4200];
	struct stat st;
	size_t size = MAP_MIN_SIZE;
	long n = -2;
	int fd;

	if (stat(src, &st) != 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	size += (size_t)st.st_size * 4;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", dst, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dst);
		return -1;
	}
	for (int i = 0; n == -2 && i < MAP_GROW_TRIES; i++, size *= 2)
		n = build(src, tmp, size, syn, err, errlen);
	if (n == -2)
		snprintf(err, errlen, "%s: map too large", src);
	if (n < 0)
		goto fail;
	if (narrow_mode(tmp, st.st_mode, err, errlen) != 0)
		goto fail;
	/* LMDB synced its pages; make the file's metadata durable too */
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, dst) != 0) {
		snprintf(err, errlen, "rename %s: %s", dst, strerror(errno));
		goto fail;
	}
	dir_of(dst, dir, sizeof(dir));
	if (fsync_dir(dir) != 0) {
		snprintf(err, errlen, "fsync %s: %s", dir, strerror(errno));
		return -1;
	}
	return n;
fail:
	unlink(tmp);
	return -1;
}

int
map_open(struct map *m, const char *path, char *err, size_t errlen)
{
	MDB_txn *txn;
	struct stat st;
	int rc;

	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	if ((rc = mdb_env_create(&m->env)) != 0 ||
	    (rc = mdb_env_open(m->env, path,
			       MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644)) !=
		0 ||
	    (rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	rc = mdb_dbi_open(txn, NULL, 0, &m->dbi);
	mdb_txn_abort(txn);
	if (rc == 0)
		return 0;
fail:
	snprintf(err, errlen, "%s: lmdb: %s", path, mdb_strerror(rc));
	if (m->env)
		mdb_env_close(m->env);
	m->env = NULL;
	return -1;
}

void
map_close(struct map *m)
{
	if (m->env)
		mdb_env_close(m->env);
	m->env = NULL;
}

/* refresh - reopen a map that was replaced on disk.  Inside a chroot the
 * path is not reachable and the open map is kept: those processes pick up
 * a new map when they are restarted (max_use, max_idle, reload). */
static void
refresh(struct map *m)
{
	struct stat st;
	struct map fresh;
	char err[256];

	if (m->env && stat(m->path, &st) == 0 && st.st_ino == m->ino &&
	    st.st_dev == m->dev)
		return;
	if (map_open(&fresh, m->path, err, sizeof(err)) != 0) {
		/* keep what we have (or nothing, reported by get); the open
		 * file, when it was renamed over, has no links left */
		mdb_filehandle_t fd;
		m->stale = m->env != NULL && mdb_env_get_fd(m->env, &fd) == 0 &&
			   fstat(fd, &st) == 0 && st.st_nlink == 0;
		return;
	}
	map_close(m);
	*m = fresh;
}

int
map_stale(const struct map *m)
{
	return m->stale;
}

int
map_get(struct map *m, const char *key, char *val, size_t vlen)
{
	char k[LIM_MAP_KEY];
	MDB_txn *txn;
	MDB_val mk, mv;
	int rc;

	refresh(m);
	if (m->env == NULL) {
		snprintf(val, vlen, "map %s not available", m->path);
		return -1;
	}
	if (strlen(key) >= sizeof(k) || *key == 0)
		return 0;
	snprintf(k, sizeof(k), "%s", key);
	fold(k);
	mk.mv_size = strlen(k);
	mk.mv_data = k;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(val, vlen, "map %s: %s", m->path, mdb_strerror(rc));
		return -1;
	}
	rc = mdb_get(txn, m->dbi, &mk, &mv);
	if (rc == 0) {
		size_t n = mv.mv_size;
		if (n > 0 && ((char *)mv.mv_data)[n - 1] == 0)
			n--;
		if (n >= vlen)
			n = vlen - 1;
		memcpy(val, mv.mv_data, n);
		val[n] = 0;
	} else if (rc != MDB_NOTFOUND)
		snprintf(val, vlen, "map %s: %s", m->path, mdb_strerror(rc));
	mdb_txn_abort(txn);
	return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
}

int
map_get_addr(struct map *m, const char *local, const char *domain, char delim,
	     char *val, size_t vlen, char *matched, size_t mlen)
{
	char key[3][LIM_MAP_KEY];
	const char *ext = delim ? strchr(local, delim) : NULL;
	int nkeys = 0, r;

	snprintf(key[nkeys++], LIM_MAP_KEY, "%s@%s", local, domain);
	if (ext != NULL && ext != local)
		snprintf(key[nkeys++], LIM_MAP_KEY, "%.*s@%s",
			 (int)(ext - local), local, domain);
	snprintf(key[nkeys++], LIM_MAP_KEY, "@%s", domain);
	for (int i = 0; i < nkeys; i++) {
		if ((r = map_get(m, key[i], val, vlen)) != 0) {
			if (r == 1 && matched)
				snprintf(matched, mlen, "%s", key[i]);
			return r;
		}
	}
	return 0;
}
