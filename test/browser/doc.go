// Package browser plays Ringside's live streams with real web players
// (hls.js, Shaka Player, dash.js) in Debian's Chromium and checks what a
// viewer would see: playback that starts and does not stall, and errors
// that reach the player with their HTTP status. The package holds only
// tests, the Node.js driver play.mjs, the test page (page/) and this
// documentation.
//
// # Set-up
//
// The test builds cmd/ringside of the tree it runs in (with -race when the
// test has it) and starts `ringside demo --http 127.0.0.1:0 --https
// 127.0.0.1:0 --admin 127.0.0.1:0 --dns 127.0.0.1:0 --low-latency`: one
// node with every role, a real ffmpeg pushing the live HLS event "demo" (a
// 480p and a 240p rendition, 2 s segments) and a second pushing the
// low-latency event "demo-ll" as LL-DASH/CMAF (the same ladder at 30 fps,
// 2 s segments of 0.5 s fragments), on a plain HTTP and an HTTPS listener. It
// reads what the demo prints: both play URLs, the admin API, and the
// throwaway CA the demo made in its data dir for the HTTPS certificate.
// The demo runs in its own process group, is interrupted (then killed)
// when the test ends, and fails the test if its log shows a data race.
//
// Trust is precise, nothing ignores certificate errors. The test loads the
// demo's CA, connects to the HTTPS listener verifying against that CA
// alone (crypto/tls), and pins the certificate's key for Chromium: the
// base64 SHA-256 of the leaf's SubjectPublicKeyInfo, passed as
// --ignore-certificate-errors-spki-list (Chromium honours it because
// playwright-core gives it a --user-data-dir). Chromium then accepts that
// key and still refuses every other certificate, which a control case
// shows. The test's own HTTP client trusts the CA and nothing else; it
// waits on the HTTPS listener until each media playlist lists four
// segments.
//
// Through the admin API the test rotates a signing key in and creates the
// event "paid" with require_token, pulled from /live/demo on the node's
// HTTP listener: live as soon as "demo" is, without a second encoder.
//
// A net/http/httptest server on another 127.0.0.1 port serves the page
// (page/index.html, page/harness.js) and the players' builds from
// node_modules, so every request a player makes to Ringside is a
// cross-origin one: it only reads what Ringside's CORS headers allow.
//
// # Driver
//
// For each case the test runs `node play.mjs` with a JSON spec on stdin
// (player, page, manifest, seconds to play, the SPKI pins; for the
// low-latency cases how many responses to record and which playlists to
// read, counting their LL-HLS tags). The driver
// launches /usr/bin/chromium headless through playwright-core (which never
// downloads a browser) with a fresh profile and --no-sandbox --disable-gpu
// --disable-background-networking --disable-component-update
// --no-first-run, opens the page, has page/harness.js start the player,
// plays for the given seconds after the first frame and prints a JSON
// report: whether and when playback started, how far video.currentTime
// advanced, stalls (currentTime still for 0.5 s or more while neither
// paused nor ended) and waiting events, every player error with the HTTP
// status the player saw (hls.js: response.code; Shaka: the status of
// BAD_HTTP_STATUS, 0 for HTTP_ERROR; dash.js: the status of the last
// failed response, from a response interceptor) and when it came, the
// rendition it ended on, the latency every 0.5 s after the first frame
// (the player's own figure and now minus the wall-clock time of the frame
// playing), every response Chromium saw on the network (with
// its network error, such as net::ERR_CERT_AUTHORITY_INVALID), and the
// CORS preflights it sent (from the DevTools protocol: pages never see
// them).
//
// # Cases
//
// Run one after the other, to spare the two cores ffmpeg and the node share
// with Chromium. The error cases come first: they need only the node, and
// run while the encoder's first segments arrive. A playing case fails on
// a stall or waiting event after the first frame, on currentTime
// advancing less than its minimum (15 s in 20 s, 7 s in 10 s), on a
// missing hop (a status Chromium must have seen on the way) and on any
// player error; the one exception is hls.js's non-fatal
// bufferSeekOverHole before the first frame (it steps over the fraction
// of a second between the start position it computed from the playlist
// and the first frame buffered, which happens or not depending on which
// came first; it is listed in the log).
//
//   - hls.js asked for /live/demo/nope.m3u8 over HTTPS stops on a fatal
//     error with HTTP status 404, not 0: the error response carries CORS
//     headers.
//   - The control of the pin: hls.js asked for the master over HTTPS
//     without it sees status 0 and Chromium a certificate error
//     (net::ERR_CERT_…), so the HTTPS cases pass because of the pin alone.
//   - dash.js asked for /live/demo/nope.mpd over HTTP stops with status 404.
//   - The control of CORS: hls.js asked for a 404 on a third origin without
//     CORS headers sees status 0, which shows that the 404 cases can fail.
//   - hls.js plays /live/demo/master.m3u8 over HTTPS for 20 s (at least
//     15 s advanced), every request on the HTTPS listener.
//   - hls.js plays the steered master /s/live/demo/master.m3u8 over HTTPS
//     for 20 s and fetches the steering manifest /steer/demo (200) over
//     HTTPS. The variants the steered master names are on the mesh
//     pathway, whose base URL for a client that came over HTTPS is the
//     edge's https:// listener (gossiped): every request stays on HTTPS.
//   - hls.js plays /r/live/demo/master.m3u8 over HTTPS through its 302 for
//     20 s, sending CMCD as request headers: every request, the redirect
//     and its target included, is preflighted, and every OPTIONS is
//     answered 2xx. The redirect's target is on the mesh pathway too,
//     over HTTPS: every request stays on HTTPS.
//   - hls.js plays the require_token event "paid" over HTTPS for 20 s with
//     the token the playback API (/play/paid, over HTTPS) signed, every
//     request on the HTTPS listener; the node rewrites each playlist to
//     carry the token. Before, the test checks that its master playlist is
//     refused (403) without the token and served with it.
//   - Shaka Player plays /live/demo/master.m3u8 over HTTP (HLS, MPEG-TS
//     transmuxed by Shaka itself) for 10 s (7 s advanced).
//   - The low-latency event, each player for 60 s over HTTP (at least 45 s
//     advanced, no stall or waiting event, no fatal error: non-fatal ones
//     are counted and logged; no request leaving 127.0.0.1): hls.js with
//     lowLatencyMode on /live/demo-ll/ll.m3u8, in low-latency mode (its
//     level has parts), every LL-HLS media playlist it read having
//     EXT-X-PART, reloading them blocking (_HLS_msn); dash.js on
//     /live/demo-ll/manifest.mpd (2 s live delay, catch-up) in its
//     low-latency mode, with clock synchronisation off: the MPD names no
//     time source and dash.js's default one is on the internet, while the
//     device clock here is the encoder's own; Shaka Player with
//     streaming.lowLatencyMode on the same MPD. The test logs each
//     player's median and p95 latency and a LATENCY JSON line; it never
//     judges the figures.
//
// Each case logs what the player saw and how many of its requests went to
// each listener. A failing case says what went wrong, the requests and
// preflights Chromium made to the node with their statuses, the driver's
// timing and the page's console; the demo's log tail follows.
//
// # Dependencies
//
// /usr/bin/chromium, node (20 or later), ffmpeg, and test/browser's npm
// packages (package-lock.json, installed by npm ci): scripts/ensure-test-deps
// installs all of them, and .ci/run runs it. The test fails, and does not
// skip, when any is missing.
//
// # The ops loop
//
// TestOpsLoop (ops_test.go, driver ops.mjs) plays /watch/demo, Ringside's
// own player page, and drives the ops console on the admin listener: three
// viewers shown within 2 s, a confirmed CDN drain that moves the sessions,
// and a CDN (nginx in front of a switch) that hangs and is left within
// 10 s; see README.md.
package browser
