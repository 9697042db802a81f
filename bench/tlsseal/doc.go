// Package tlsseal holds one benchmark: sealing a full TLS record (16 KB of
// plaintext) with Go's AES-128-GCM, the suite of bench/run's HTTPS rounds.
// bench/https.bash sets its MB/s beside OpenSSL's own (`openssl speed -evp
// aes-128-gcm -bytes 16384`) on the same core, to show whether the cipher
// itself is where Go's TLS spends more than nginx's.
//
//	go test -run '^$' -bench SealRecord -cpu 1 ./bench/tlsseal
package tlsseal
