// Package route decides where a request for a key goes next and takes it
// there: the rendezvous tables of the shield tiers (Table), the fetcher that
// climbs them (shield owners, then the ingest nodes of a push event or a
// pull event's origin; failover on errors, resume by Range of a broken
// body), push fill of new segments to their owners, and the hop header
// that shows each tier and makes loops impossible.
//
// A node only ever asks nodes ranked above itself for a key, so failover
// never loops; Table is pure and table-tested without a cluster.
package route
