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
// test has it) and starts `ringside demo --http 127.0.0.1:0 --admin
// 127.0.0.1:0 --dns 127.0.0.1:0`: one node with every role and a real
// ffmpeg pushing the live HLS event "demo" (a 480p and a 240p rendition,
// 2 s segments). It reads the play URL the demo prints and waits until each
// media playlist lists four segments. The demo runs in its own process
// group, is interrupted (then killed) when the test ends, and fails the
// test if its log shows a data race.
//
// A net/http/httptest server on another 127.0.0.1 port serves the page
// (page/index.html, page/harness.js) and the players' builds from
// node_modules, so every request a player makes to Ringside is a
// cross-origin one: it only reads what Ringside's CORS headers allow.
//
// # Driver
//
// For each case the test runs `node play.mjs` with a JSON spec on stdin
// (player, page, manifest, seconds to play, ignoreHTTPSErrors). The driver
// launches /usr/bin/chromium headless through playwright-core (which never
// downloads a browser) with a fresh profile, opens the page, has
// page/harness.js start the player, plays for the given seconds after the
// first frame and prints a JSON report: whether and when playback started,
// how far video.currentTime advanced, stalls (currentTime still for 0.5 s
// or more while neither paused nor ended) and waiting events, every player
// error with the HTTP status the player saw (hls.js: response.code; Shaka:
// the status of BAD_HTTP_STATUS, 0 for HTTP_ERROR; dash.js: the status of
// the last failed response, from a response interceptor), the rendition it
// ended on, every response Chromium saw on the network, and the CORS
// preflights it sent (from the DevTools protocol: pages never see them).
//
// # Cases
//
// Run one after the other, to spare the two cores ffmpeg and the node share
// with Chromium. The error cases come first: they need only the node, and
// run while the encoder's first segments arrive.
//
//   - hls.js asked for /live/demo/nope.m3u8 stops on a fatal error with HTTP
//     status 404, not 0: the error response carries CORS headers.
//   - dash.js asked for /live/demo/nope.mpd stops with status 404. The demo
//     pushes HLS only, so dash.js has no MPD to play yet; the driver
//     supports it fully for when the node serves DASH.
//   - The control: hls.js asked for a 404 on a third origin without CORS
//     headers sees status 0, which shows that the two cases above can fail.
//   - hls.js plays /live/demo/master.m3u8 for 20 s: currentTime advances at
//     least 15 s, no stall or waiting event after the first frame, no error.
//   - hls.js plays the steered master /s/live/demo/master.m3u8 for 8 s
//     (6 s advanced, no stall, no error) and fetches the steering manifest
//     /steer/demo (200) it names.
//   - hls.js plays /r/live/demo/master.m3u8 through its 302 for 8 s, sending
//     CMCD as request headers: every request, the redirect and its target
//     included, is preflighted, and every OPTIONS is answered 2xx.
//   - Shaka Player plays /live/demo/master.m3u8 (HLS, MPEG-TS transmuxed by
//     Shaka itself) for 10 s (7 s advanced, no stall, no error).
//   - hls.js plays the master from the demo's HTTPS listener (--https, a
//     certificate from its throwaway CA, so certificate errors are
//     ignored) for 10 s, from the same page on another origin.
//
// A failing case says what the player saw (the report in words), the
// requests and preflights Chromium made to Ringside with their statuses,
// the driver's timing and the page's console; the demo's log tail follows.
//
// # Dependencies
//
// /usr/bin/chromium, node (20 or later), ffmpeg, and test/browser's npm
// packages (package-lock.json, installed by npm ci): scripts/ensure-test-deps
// installs all of them, and .ci/run runs it. The test fails, and does not
// skip, when any is missing.
//
// RINGSIDE_BROWSER_HTTPS=1 plays the https:// URL the demo prints instead
// (see README.md).
package browser
