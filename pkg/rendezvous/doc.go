// Package rendezvous implements highest-random-weight (rendezvous) hashing.
//
// Every member gets a pseudo-random weight for every key; the member with the
// highest weight owns the key. Because a member's weight for a key does not
// depend on the other members, adding a member moves only the keys it now
// wins (about 1/(N+1) of them) and removing one moves only the keys it owned.
// Ranked gives the full preference order for a key, which doubles as a
// failover order: dropping the owner from it gives exactly the order the
// remaining members would have if the owner left.
//
// A Ring is immutable; build a new one when the member set changes. It uses
// the standard library only.
package rendezvous
