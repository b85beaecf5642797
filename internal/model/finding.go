package model

// Validate reports every constraint of the model that s breaks, with paths
// relative to s (codeDeployDeployment.startTime, …). No operation of the
// model takes a FindingDetails as its input; incidentd's own endpoint that
// records findings does. A union that does not have exactly one member set
// is reported at the empty path: callers that want a friendlier message
// check that first.
func (s *FindingDetails) Validate() error {
	v := &Violations{}
	s.validate(v, nil)
	return v.Err()
}
