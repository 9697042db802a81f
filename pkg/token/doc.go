// Package token signs and verifies playback tokens: short, URL-safe strings
// that let a player fetch one event's files until a deadline.
//
// A token is the unpadded base64url encoding of a small binary payload
// (version, expiry in Unix seconds, generation, key id, event, path
// prefix, session, region) followed by the first 16 bytes of its
// HMAC-SHA256 under the key named in the payload. Verify takes the current
// key and the retired ones still in use so secrets can be rotated without
// logging players out: it picks the key by id, compares the MAC in constant
// time and only then looks at expiry (the token's, and the key's NotAfter)
// and scope. The session, region and generation are signed and reported;
// judging them against the request is the caller's policy.
//
// Verify reports ErrMalformed (not a token), ErrForged (unknown key or bad
// MAC), ErrExpired and ErrScope (another event, or a path outside the
// token's prefix). It allocates once on success and never on failure, so
// edges can call it on every request. It uses the standard library only.
package token
