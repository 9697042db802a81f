package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Headers of a forwarded call. A node never forwards the operator's
// Authorization: it proves, per request and per target, that it holds the
// token the operator used (HeaderProof), and names the operator for the
// history (HeaderOperator) and the node where the call arrived
// (X-Ringside-Origin, set only between nodes).
const (
	// HeaderProof is "v1 <unix seconds> <rw|ro> <hex HMAC-SHA256>"; the MAC
	// is keyed with the admin token (rw) or the read-only token (ro) over
	// the lines of proofString.
	HeaderProof = "X-Ringside-Admin-Proof"
	// HeaderOperator names the operator in the history of the writes the
	// request makes ("alice" records "alice@edge-1"); 1-64 characters of
	// [A-Za-z0-9._@-], "operator" when absent.
	HeaderOperator = "X-Ringside-Operator"
	hdrOrigin      = "X-Ringside-Origin"
)

const (
	proofVersion = "v1"
	// proofSkew is how far a proof's timestamp may be from this node's
	// clock, either way: long enough for clocks kept by NTP and a
	// forwarded call's own time on the wire, short enough that a captured
	// proof soon stops working (a write's Idempotency-Key covers a replay
	// inside the window).
	proofSkew = 60 * time.Second
	// Which token a proof is keyed with, the operator's access.
	accessRW = "rw"
	accessRO = "ro"
)

// defaultOperator is the operator of a request without HeaderOperator.
const defaultOperator = "operator"

var operatorRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// ValidOperator reports whether name may stand in HeaderOperator: 1-64
// characters of [A-Za-z0-9._@-].
func ValidOperator(name string) bool { return operatorRE.MatchString(name) }

// caller is who a request acts for: the operator, which token they used
// (accessRW or accessRO), and the node their call arrived at.
type caller struct {
	access   string
	operator string
	origin   string
}

func (c caller) full() bool { return c.access == accessRW }

// actor names the caller in the history: "alice@edge-1".
func (c caller) actor() string { return c.operator + "@" + c.origin }

// operatorOf is the request's HeaderOperator, defaultOperator when absent,
// or false when it is not a valid name.
func operatorOf(r *http.Request) (string, bool) {
	op := r.Header.Get(HeaderOperator)
	if op == "" {
		return defaultOperator, true
	}
	return op, ValidOperator(op)
}

// validOrigin accepts a node id as another node names it: short, printable,
// without spaces (it ends up in the history's actor).
func validOrigin(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '@' {
			return false
		}
	}
	return true
}

// proofString is what a proof's MAC covers, one field per line: the
// version, the timestamp, the access, the method, the request URI (path
// and query), the Idempotency-Key ("" on reads), the hex SHA-256 of the
// body and the id of the node the call is sent to, so a proof is good for
// one request to one node only.
func proofString(ts int64, access, method, uri, key string, body []byte, target string) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{proofVersion, strconv.FormatInt(ts, 10), access, method, uri, key,
		hex.EncodeToString(sum[:]), target}, "\n")
}

func proofMAC(token, msg string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// tokenFor is the token a proof of access is keyed with, "" when this
// node has none.
func (a *API) tokenFor(access string) string {
	switch access {
	case accessRW:
		return a.cfg.Token
	case accessRO:
		return a.cfg.ReadOnlyToken
	}
	return ""
}

// signProof is the HeaderProof of a call to target.
func (a *API) signProof(access, method, uri, key string, body []byte, target string) string {
	ts := a.now().Unix()
	mac := proofMAC(a.tokenFor(access), proofString(ts, access, method, uri, key, body, target))
	return fmt.Sprintf("%s %d %s %s", proofVersion, ts, access, hex.EncodeToString(mac))
}

// verifyProof checks the HeaderProof of a forwarded request whose body is
// body, and returns its access; the error says what is wrong, for the 401.
func (a *API) verifyProof(r *http.Request, body []byte) (string, error) {
	h := r.Header.Get(HeaderProof)
	if h == "" {
		return "", fmt.Errorf("a forwarded call needs an %s header", HeaderProof)
	}
	f := strings.Fields(h)
	if len(f) != 4 || f[0] != proofVersion {
		return "", fmt.Errorf("malformed %s: want %q", HeaderProof, "v1 <unix-seconds> <rw|ro> <hex hmac>")
	}
	ts, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", fmt.Errorf("malformed %s: bad timestamp %q", HeaderProof, f[1])
	}
	if d := a.now().Sub(time.Unix(ts, 0)); d > proofSkew || d < -proofSkew {
		return "", fmt.Errorf("stale proof: signed %v from this node's clock (at most %v either way): check the nodes' clocks",
			d.Round(time.Second), proofSkew)
	}
	access := f[2]
	if access != accessRW && access != accessRO {
		return "", fmt.Errorf("malformed %s: access %q, want rw or ro", HeaderProof, access)
	}
	token := a.tokenFor(access)
	if token == "" {
		return "", fmt.Errorf("a %s proof, but this node has no read-only token", access)
	}
	got, err := hex.DecodeString(f[3])
	want := proofMAC(token, proofString(ts, access, r.Method, r.URL.RequestURI(), r.Header.Get(hdrIdempotency), body, a.cfg.NodeID))
	if err != nil || !hmac.Equal(got, want) { // constant time
		return "", fmt.Errorf("the proof does not verify for node %s: signed for another node, request or body, "+
			"or admin.token/admin.read_only_token differs between the nodes", a.cfg.NodeID)
	}
	return access, nil
}
