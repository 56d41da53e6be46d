/*
 * gw_source: where a request comes from (issue 28, ADR 0119). The client
 * address is the TCP peer, unless the peer is one of the configured
 * trusted proxies (trusted_proxies; none by default): then it is the
 * right-most address of X-Forwarded-For that is not a trusted proxy. An API
 * key's allow-list of source networks (CIDRs) is matched against it.
 *
 * Addresses are kept as 16-byte IPv6 (RFC 4291 section 2.5.5.2): an IPv4
 * address a.b.c.d is ::ffff:a.b.c.d, an IPv4 network a.b.c.d/n is
 * ::ffff:a.b.c.d/(96+n). So "10.0.0.0/8" and "::ffff:10.0.0.0/104" are the
 * same network, and an IPv4-mapped peer (a dual-stack listener's view of an
 * IPv4 client) matches an IPv4 entry. Text is read with inet_pton and a
 * decimal prefix length (RFC 4632 section 3.1, RFC 4291 section 2.3); it is
 * written back in one canonical form (gw_cidr_format). Pure functions: no
 * allocation, no I/O, no locks.
 */
#ifndef GW_SOURCE_H
#define GW_SOURCE_H
#include <stdbool.h>
#include <stddef.h>

/* Most networks one key (or the trusted proxy list) may carry. */
#define GW_CIDR_MAX 64
/* Longest canonical text of one network: an IPv6 address and "/128". */
#define GW_CIDR_TEXT 50

/* A network (prefix bits of addr; the rest is zero) or, with prefix 128,
 * one address. */
struct gw_cidr {
	unsigned char addr[16];
	unsigned prefix;         /* 0..128, over the 16-byte form */
};

/**
 * Parse one address ("192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7") into
 * out (prefix 128). No surrounding spaces, no port, no zone ("%eth0"), no
 * brackets. @return 0, or -1 (not an address).
 */
int gw_addr_parse(const char *s, struct gw_cidr *out);

/**
 * Parse one network "ADDRESS/LEN" (LEN decimal, 0..32 for IPv4, 0..128 for
 * IPv6, no sign or leading zero) or a bare address (a /32 or /128). Bits
 * beyond the prefix must be zero ("10.1.0.0/8" is refused: a mistyped
 * prefix would silently widen or narrow the list). @return 0, or -1.
 */
int gw_cidr_parse(const char *s, struct gw_cidr *out);

/** Whether address addr (prefix 128) lies in network net. */
bool gw_cidr_contains(const struct gw_cidr *net, const struct gw_cidr *addr);

/**
 * Canonical text of c into out[outlen >= GW_CIDR_TEXT]: an IPv4-mapped
 * network with prefix >= 96 as IPv4 "a.b.c.d/n", any other as RFC 5952 IPv6
 * (inet_ntop) "/n"; with prefix 128 (32 for IPv4) and as_address set, the
 * address alone. @return 0, or -1 (outlen too small).
 */
int gw_cidr_format(const struct gw_cidr *c, bool as_address, char *out, size_t outlen);

/**
 * Parse a list of networks separated by commas (spaces around entries
 * ignored) into out[max]; *n receives the count. An empty list, an empty
 * entry, more than max entries or one bad entry fails the whole list.
 * @return 0, or -1 with *bad the 0-based index of the first bad entry
 * (max when there are too many; the text itself is never returned).
 */
int gw_cidr_list_parse(const char *list, struct gw_cidr *out, size_t max, size_t *n,
                       size_t *bad);

/** Whether addr lies in any of list[n]. */
bool gw_cidr_list_contains(const struct gw_cidr *list, size_t n, const struct gw_cidr *addr);

/**
 * The client address of a request into *out. peer: the TCP peer's address
 * text (sr_http_request.client). xff: the X-Forwarded-For field value, all
 * its field lines joined with "," (RFC 9110 section 5.3), or NULL.
 * trusted[ntrusted]: the trusted proxies.
 *
 * When the peer is not trusted (always, with ntrusted 0), the peer; its
 * X-Forwarded-For is ignored. When it is, X-Forwarded-For is read from the
 * right: each entry must be a bare address; the first one that is not a
 * trusted proxy is the client; when every entry is a trusted proxy, the
 * left-most; with no X-Forwarded-For, the peer.
 * @return 0 with *out set, or -1: the address is unknown (no peer, a peer
 * that is not an address, an entry of X-Forwarded-For examined that is not
 * a bare address, more than 64 entries). Callers treat unknown as matching
 * no allow-list.
 */
int gw_source_client(const char *peer, const char *xff, const struct gw_cidr *trusted,
                     size_t ntrusted, struct gw_cidr *out);

#endif
