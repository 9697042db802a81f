// Package encoder runs a real ffmpeg that pushes a synthetic live event
// (test pattern and tone) into a Ringside ingest node over HTTP PUT, the way
// a production encoder would. The demo and the end-to-end tests use it.
package encoder
