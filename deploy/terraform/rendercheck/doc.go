// Package rendercheck holds no code, only a test: it keeps the Terraform
// module deploy/terraform/modules/ringside-mesh and the binary's config
// loader from drifting apart.
//
// The test renders the module's golden fixture with `terraform apply`
// (or OpenTofu's `tofu`) when either is on the PATH and compares the
// result with the checked-in golden files under
// modules/ringside-mesh/tests/golden (run it with -update to rewrite
// them); without terraform it reads the golden files alone, which the
// module's own `terraform test` (golden.tftest.hcl) keeps equal to what
// the module renders. Either way every rendered node config is parsed and
// validated by node.ParseConfig with the environment its cloud-init env
// file provides, every listener of every node is checked against the
// firewall rules, the DNS delegation against the steer nodes' configs, and
// the admin API bodies against the control plane's types.
package rendercheck
