/*
 * test_tlsproxy_client.c - error paths of common/tlsproxy_client.c.
 *
 * Covers: no proxy socket, an unknown or "none" policy, a bad descriptor,
 * a proxy that closes without answering, one that answers status=fail,
 * and one that says ok but sends no descriptor (a fake proxy on a
 * socketpair served by a child process).
 * Trusts: nothing.  Never: needs a running tlsproxy.
 */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "suites.h"
#include "tlsproxy_client.h"

static char dir[512], sock[600];

static int
init(void)
{
	if (unit_tmpdir(dir, sizeof(dir), "tlsproxy") != 0)
		return -1;
	unit_path(sock, sizeof(sock), dir, "tlsproxy");
	return 0;
}

static int
fini(void)
{
	return unit_rm_rf(dir);
}

/* fake_proxy - a child that answers one request: mode 0 closes, 1 says
 * fail, 2 says ok without a descriptor */
static pid_t
fake_proxy(int mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(sock) >= sizeof(sun.sun_path))
		return -1; /* TMPDIR too deep for a socket path */
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	unlink(sock);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(l, 1) != 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(l);
		return pid;
	}
	int c = accept(l, NULL, NULL);
	struct ipc *i = ipc_new(c, 5000);
	struct attrs a;
	attrs_init(&a);
	if (ipc_read(i, &a) == IPC_OK && mode > 0) {
		ipc_put_str(i, "status", mode == 1 ? "fail" : "ok");
		if (mode == 1)
			ipc_put_str(i, "reason", "no shared cipher");
		if (ipc_end(i) != IPC_OK)
			_exit(1);
	}
	_exit(0);
}

static int
run(int mode, char *err, size_t errlen)
{
	struct tlsproxy_opts o = {.socket_path = sock, .timeout_ms = 5000};
	struct tls_result r;
	int sp[2], status, fd;
	pid_t pid = fake_proxy(mode);

	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	fd = tlsproxy_server(sp[0], &o, &r, err, errlen);
	close(sp[0]);
	close(sp[1]);
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	return fd;
}

static void
test_errors(void)
{
	struct tlsproxy_opts o = {.socket_path = "/nonexistent/tlsproxy",
				  .timeout_ms = 1000, .policy = "may"};
	struct tls_result r;
	char err[512];

	CU_ASSERT_EQUAL(tlsproxy_server(0, &o, &r, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "connect /nonexistent/tlsproxy"));
	CU_ASSERT_EQUAL(tlsproxy_server(-1, &o, &r, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no socket"));
	o.policy = "none";
	CU_ASSERT_EQUAL(tlsproxy_client(0, &o, &r, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"none\""));
	o.policy = NULL;
	CU_ASSERT_EQUAL(tlsproxy_client(0, &o, &r, err, sizeof(err)), -1);

	CU_ASSERT_EQUAL(run(0, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "tlsproxy: closed the connection");
	CU_ASSERT_EQUAL(run(1, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "TLS handshake failed: no shared cipher");
	CU_ASSERT_EQUAL(run(2, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "tlsproxy sent no descriptor");
}

CU_ErrorCode
suite_tlsproxy_client(void)
{
	CU_pSuite s = CU_add_suite("tlsproxy_client", init, fini);

	if (s == NULL || !CU_add_test(s, "error paths", test_errors))
		return CU_get_error();
	return CUE_SUCCESS;
}
