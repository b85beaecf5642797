package domain

import (
	"sort"
	"time"
)

// Replication set and region statuses, as the AWS model spells them.
const (
	StatusActive   = "ACTIVE"
	StatusCreating = "CREATING"
	StatusUpdating = "UPDATING"
	StatusDeleting = "DELETING"
)

// DefaultKMSKey is what a region shows when it was added without a key.
const DefaultKMSKey = "DefaultKey"

// MaxRegions is how many regions a replication set may hold.
const MaxRegions = 3

// ReplicationSet is the one per-account resource that must be ACTIVE before
// response plans and incidents can exist.
type ReplicationSet struct {
	ARN               string             `json:"arn"`
	Account           string             `json:"account"`
	CreatedBy         string             `json:"createdBy"`
	CreatedTime       time.Time          `json:"createdTime"`
	LastModifiedBy    string             `json:"lastModifiedBy"`
	LastModifiedTime  time.Time          `json:"lastModifiedTime"`
	DeletionProtected bool               `json:"deletionProtected"`
	Regions           map[string]*Region `json:"regions"`
}

// Region is one region of a replication set. Its status is derived from its
// times and the service's provisioning delay (see RegionStatus).
type Region struct {
	SSEKMSKeyID      string     `json:"sseKmsKeyId"`
	AddedTime        time.Time  `json:"addedTime"`
	StatusUpdateTime time.Time  `json:"statusUpdateTime"`
	DeletingSince    *time.Time `json:"deletingSince,omitempty"`
}

// RegionStatus is CREATING for delay after the region was added, DELETING for
// delay after its removal was asked, ACTIVE otherwise. gone reports a region
// whose removal has completed.
func (r *Region) RegionStatus(now time.Time, delay time.Duration) (status string, changed time.Time, gone bool) {
	if r.DeletingSince != nil {
		if now.Before(r.DeletingSince.Add(delay)) {
			return StatusDeleting, *r.DeletingSince, false
		}
		return "", time.Time{}, true
	}
	if now.Before(r.AddedTime.Add(delay)) {
		return StatusCreating, r.AddedTime, false
	}
	return StatusActive, r.AddedTime.Add(delay), false
}

// Status is CREATING while the set's first regions are provisioned, UPDATING
// while a later region is added or removed, ACTIVE otherwise.
func (rs *ReplicationSet) Status(now time.Time, delay time.Duration) string {
	if now.Before(rs.CreatedTime.Add(delay)) {
		return StatusCreating
	}
	for _, r := range rs.Regions {
		if st, _, _ := r.RegionStatus(now, delay); st == StatusCreating || st == StatusDeleting {
			return StatusUpdating
		}
	}
	return StatusActive
}

// LiveRegions returns the names of the regions not yet removed, sorted.
func (rs *ReplicationSet) LiveRegions(now time.Time, delay time.Duration) []string {
	var names []string
	for name, r := range rs.Regions {
		if _, _, gone := r.RegionStatus(now, delay); !gone && r.DeletingSince == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Prune drops the regions whose removal has completed.
func (rs *ReplicationSet) Prune(now time.Time, delay time.Duration) {
	for name, r := range rs.Regions {
		if _, _, gone := r.RegionStatus(now, delay); gone {
			delete(rs.Regions, name)
		}
	}
}
