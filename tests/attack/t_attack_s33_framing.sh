# Attack suite, session 33: request framing (ADR 0122's refusals from the
# headers). A request with both Content-Length and Transfer-Encoding was read
# as chunked (the 411 rule for a body without Content-Length is dodged by
# adding any Content-Length) and the connection kept open for the next
# request; with two Content-Length values the first was used and the
# connection kept too. A proxy in front (ADR 0112, 0119) that frames the
# same bytes the other way sees a different next request: request smuggling.
# RFC 9112 sections 6.1 and 6.3: such a request is an error, answered 400,
# and the connection is closed after the answer. Sourced by
# tests/integration/run.sh (helpers: http, j, eq, fail, pg).

# as33_raw CASE: one TLS connection to the gateway; sends CASE's request
# (a customer named framing-s33) followed by a pipelined GET; prints the
# status codes of every answer read until the server closes or 5 s pass.
as33_raw() {
  python3 - "$GATEWAY_URL" "$STRONGROOM_CA" "$STRONGROOM_SK" "$1" <<'PY'
import socket, ssl, sys, urllib.parse, re
u = urllib.parse.urlparse(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection((u.hostname, u.port)), server_hostname=u.hostname)
h = f"Host: {u.hostname}\r\nAuthorization: Bearer {sys.argv[3]}\r\nContent-Type: application/json\r\n"
body = b'{"name":"framing-s33"}'
chunked = b'%x\r\n' % len(body) + body + b'\r\n0\r\n\r\n'
nxt = f"GET /v1/customers?limit=1 HTTP/1.1\r\n{h}\r\n".encode()
head = f"POST /v1/customers HTTP/1.1\r\n{h}"
req = {
  'cl_te': f"{head}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunked,
  'te_cl': f"{head}Transfer-Encoding: chunked\r\nContent-Length: {len(chunked)}\r\n\r\n".encode() + chunked,
  'cl_cl': f"{head}Content-Length: {len(body)}\r\nContent-Length: 200\r\n\r\n".encode() + body,
}[sys.argv[4]]
s.sendall(req + nxt)
s.settimeout(5); out = b''
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except (socket.timeout, ssl.SSLError, ConnectionError):
    out += b'\nOPEN'
print(' '.join([c.decode() for c in re.findall(rb'HTTP/1\.1 (\d{3})', out)[:4]] + ['open' if out.endswith(b'OPEN') else 'closed']))
PY
}

t_attack_s33_framing_smuggling() {
  local c n0 n1 out
  n0=$(pg -d gateway -At <<<"SELECT count(*) FROM customers WHERE name = 'framing-s33'")
  for c in cl_te te_cl cl_cl; do
    out=$(as33_raw "$c")
    eq "$c: one 400, then the connection closed" "$out" "400 closed"
  done
  n1=$(pg -d gateway -At <<<"SELECT count(*) FROM customers WHERE name = 'framing-s33'")
  eq "no customer made by an ambiguous request" "$n1" "$n0"
}
