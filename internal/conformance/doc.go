// Package conformance checks incidentd against AWS's own documented
// examples of Incident Manager: the aws CLI reference examples of every
// ssm-incidents command, and the Request Syntax, Response Syntax and
// Examples of every operation of the API reference.
//
// The package holds only tests and their fixtures (testdata/cli and
// testdata/apiref). Each fixture names its source and lists, under
// knownDifferences, where incidentd still answers otherwise than AWS shows;
// the tests fail both on an unlisted difference and on a listed one that no
// longer shows, so that the list stays exact.
//
//	go test -race -count=1 ./internal/conformance
//
// The CLI fixtures are made from the reStructuredText examples the aws CLI
// v1 ships; to refresh them from the installed aws CLI:
//
//	go test ./internal/conformance -run TestCLIFixturesMatchTheAWSCLI -regen
package conformance
