// Package manifest renders steering decisions as content-steering
// documents and prepares playlists for them.
//
// HLSManifest and DASHManifest write the JSON steering manifests players
// reload every TTL (Apple's HLS Content Steering, VERSION 1, and DASH
// content steering, DASH-IF CTS 001 / ETSI TS 103 998, whose priority key
// is PATHWAY-PRIORITY as well); ParseHLSQuery and ParseDASHQuery read the
// pathway and throughput a player reports when it reloads. SteerMaster copies an HLS
// master playlist with an EXT-X-CONTENT-STEERING tag and one set of
// variants (and renditions) per pathway; SteerMPD adds ContentSteering and
// per-location BaseURL elements to a DASH MPD, leaving the rest of the
// document byte for byte.
//
// It uses the standard library, pkg/segment and steering's plain types.
package manifest
