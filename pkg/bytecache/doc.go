// Package bytecache is a ristretto cache whose cost is the size in bytes of
// what it holds, with an exact count of the bytes held and an index of its
// keys so that a whole prefix (an event) can be purged. Ristretto itself
// keeps only key hashes, so it cannot list or purge by prefix.
package bytecache
