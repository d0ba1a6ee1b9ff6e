/*
 * remote_map.c - transport_maps: domain -> "[host]:port" (or "host:port",
 * "host"), an LMDB file made by mtactl makemap (key and value are the
 * text, the value with or without a final NUL); remote_tls_policy_map
 * (remote_tls.c) is read the same way.
 *
 * A small lookup of our own: the common map module was not in the tree
 * when remote was written.  The map is opened read-only per lookup, so a
 * rebuilt map is seen at once.
 * Trusts: the map's values only as route text, which route_lookup checks.
 * Never: writes the map.
 */
#include <ctype.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "remote.h"

/* inside_chroot - in root mode remote lives in a chroot at
 * queue_directory: a path below it is seen without that prefix, so one
 * setting serves both run modes */
static const char *
inside_chroot(const char *path)
{
	size_t n = strlen(cfg.queue_directory);

	if (strcmp(cfg.run_mode, "root") == 0 &&
	    strncmp(path, cfg.queue_directory, n) == 0 && path[n] == '/')
		return path + n;
	return path;
}

int
remote_map_get(const char *path, const char *key, char *out, size_t len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc;

	path = inside_chroot(path);
	if ((rc = mdb_env_create(&env)) == 0 &&
	    (rc = mdb_env_open(env, path,
			       MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0644)) ==
		0 &&
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0 &&
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0)
		rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0)
		snprintf(out, len, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	else if (rc != MDB_NOTFOUND)
		log_warn("map %s: %s", path, mdb_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	if (env)
		mdb_env_close(env);
	return rc == 0 ? 0 : rc == MDB_NOTFOUND ? 1 : -1;
}

int
transport_lookup(const char *domain, char *out, size_t len)
{
	char key[LIM_DOMAIN + 1];
	size_t n = strlen(domain);

	if (n >= sizeof(key))
		return 1;
	for (size_t i = 0; i <= n; i++)
		key[i] = (char)tolower((unsigned char)domain[i]);
	return remote_map_get(cfg.transport_maps, key, out, len);
}
