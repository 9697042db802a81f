// Package admintest has hand-written fakes of the interfaces package admin
// consumes (Control, Cluster, Steering, MeshKeys), for tests of the API
// and of its clients (ringside ctl) without a cluster.
package admintest
