/*
 * gw_source: client address and CIDR allow-lists (gw_source.h).
 */
#include "gateway/api/gw_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* ::ffff:0:0/96, the IPv4-mapped block (RFC 4291 section 2.5.5.2). */
static const unsigned char V4MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Longest address text inet_pton is given: an IPv6 address with an
 * embedded IPv4 address is at most 45 characters. */
#define ADDR_TEXT_MAX 46
/* Longest X-Forwarded-For value read (64 entries of an IPv6 address). */
#define XFF_MAX 4096

static bool is_v4mapped(const unsigned char a[16])
{
	return memcmp(a, V4MAPPED, sizeof V4MAPPED) == 0;
}

int gw_addr_parse(const char *s, struct gw_cidr *out)
{
	struct in_addr a4;

	memset(out, 0, sizeof *out);
	if (s == NULL || strlen(s) >= ADDR_TEXT_MAX)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out->addr, V4MAPPED, sizeof V4MAPPED);
		memcpy(out->addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, s, out->addr) != 1) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	out->prefix = 128;
	return 0;
}

int gw_cidr_parse(const char *s, struct gw_cidr *out)
{
	char addr[ADDR_TEXT_MAX];
	const char *slash = NULL;
	const char *p = NULL;
	unsigned len = 0;
	unsigned max;
	unsigned i;
	bool v4;

	memset(out, 0, sizeof *out);
	if (s == NULL)
		return -1;
	slash = strchr(s, '/');
	if (slash == NULL)
		return gw_addr_parse(s, out);
	if ((size_t)(slash - s) >= sizeof addr)
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (gw_addr_parse(addr, out) != 0)
		return -1;
	/* Decimal, 1..3 digits, no sign, no leading zero but "0" itself. */
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		len = len * 10 + (unsigned)(*p - '0');
	}
	v4 = strchr(addr, ':') == NULL;
	max = v4 ? 32 : 128;
	if (len > max)
		goto bad;
	out->prefix = v4 ? 96 + len : len;
	/* No bits set beyond the prefix. */
	for (i = out->prefix; i < 128; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8)))
			goto bad;
	return 0;
bad:
	memset(out, 0, sizeof *out);
	return -1;
}

bool gw_cidr_contains(const struct gw_cidr *net, const struct gw_cidr *addr)
{
	unsigned full = net->prefix / 8;
	unsigned rest = net->prefix % 8;
	unsigned char mask;

	if (net->prefix > 128)
		return false;
	if (memcmp(net->addr, addr->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (net->addr[full] & mask) == (addr->addr[full] & mask);
}

int gw_cidr_format(const struct gw_cidr *c, bool as_address, char *out, size_t outlen)
{
	char text[INET6_ADDRSTRLEN];
	unsigned len = c->prefix;
	int n;

	if (c->prefix > 128)
		return -1;
	if (c->prefix >= 96 && is_v4mapped(c->addr)) {
		if (inet_ntop(AF_INET, c->addr + 12, text, sizeof text) == NULL)
			return -1;
		len -= 96;
	} else if (inet_ntop(AF_INET6, c->addr, text, sizeof text) == NULL) {
		return -1;
	}
	if (as_address && c->prefix == 128)
		n = snprintf(out, outlen, "%s", text);
	else
		n = snprintf(out, outlen, "%s/%u", text, len);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* The entry of list between [b, e) without spaces around it, into
 * buf[buflen]. @return 0, or -1 (empty or too long). */
static int entry(const char *b, const char *e, char *buf, size_t buflen)
{
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (b == e || (size_t)(e - b) >= buflen)
		return -1;
	memcpy(buf, b, (size_t)(e - b));
	buf[e - b] = '\0';
	return 0;
}

int gw_cidr_list_parse(const char *list, struct gw_cidr *out, size_t max, size_t *n,
                       size_t *bad)
{
	char buf[ADDR_TEXT_MAX + 4];
	const char *b = list;
	const char *e = NULL;
	size_t k = 0;

	*n = 0;
	*bad = 0;
	if (list == NULL)
		return -1;
	for (;;) {
		e = strchr(b, ',');
		if (e == NULL)
			e = b + strlen(b);
		if (k == max) {
			*bad = max;
			return -1;
		}
		if (entry(b, e, buf, sizeof buf) != 0 || gw_cidr_parse(buf, &out[k]) != 0) {
			*bad = k;
			return -1;
		}
		k++;
		if (*e == '\0')
			break;
		b = e + 1;
	}
	*n = k;
	return 0;
}

bool gw_cidr_list_contains(const struct gw_cidr *list, size_t n, const struct gw_cidr *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (gw_cidr_contains(&list[i], addr))
			return true;
	return false;
}

int gw_source_client(const char *peer, const char *xff, const struct gw_cidr *trusted,
                     size_t ntrusted, struct gw_cidr *out)
{
	char buf[ADDR_TEXT_MAX];
	struct gw_cidr hop;
	const char *end = NULL;
	const char *b = NULL;
	size_t len;
	unsigned hops = 0;

	memset(out, 0, sizeof *out);
	if (peer == NULL || gw_addr_parse(peer, out) != 0)
		return -1;
	if (ntrusted == 0 || !gw_cidr_list_contains(trusted, ntrusted, out) || xff == NULL)
		return 0;
	len = strlen(xff);
	if (len > XFF_MAX)
		goto unknown;
	/* Right to left: each proxy appends the address it received from. */
	end = xff + len;
	for (;;) {
		b = end;
		while (b > xff && b[-1] != ',')
			b--;
		if (++hops > GW_CIDR_MAX || entry(b, end, buf, sizeof buf) != 0 ||
		    gw_addr_parse(buf, &hop) != 0)
			goto unknown;
		*out = hop;
		if (!gw_cidr_list_contains(trusted, ntrusted, &hop) || b == xff)
			return 0;
		end = b - 1;
	}
unknown:
	memset(out, 0, sizeof *out);
	return -1;
}
