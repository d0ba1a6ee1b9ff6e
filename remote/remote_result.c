/*
 * remote_result.c - a recipient's result: code class, enhanced status
 * code and text, as remote(8) reports it to qmgr.
 *
 * Trusts: the caller's format.  Never: overruns the fixed fields.
 */
#include <stdarg.h>
#include <stdio.h>

#include "remote.h"

void
remote_result(struct result *r, int code, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	r->mta[0] = 0;
	r->dsn_passed = 0;
}
