package service

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
)

var regionNameRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

func checkRegionName(name string) error {
	if !regionNameRE.MatchString(name) {
		return domain.Invalid("%q is not an AWS Region name (for example us-east-1)", name)
	}
	return nil
}

func kmsKey(id *string) string {
	if id == nil || *id == "" {
		return domain.DefaultKMSKey
	}
	return *id
}

// CreateReplicationSet creates the account's replication set.
// Errors: ConflictError when the account already has one; ValidationError for
// a malformed region name.
func (s *Service) CreateReplicationSet(ctx context.Context, in *model.CreateReplicationSetInput) (*model.CreateReplicationSetOutput, error) {
	ctx, err := s.authorizeCreate(ctx, "CreateReplicationSet", "*", in.Tags)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "CreateReplicationSet", in.ClientToken, in, func(ctx context.Context) (*model.CreateReplicationSetOutput, error) {
		return s.createReplicationSet(ctx, in)
	})
}

func (s *Service) createReplicationSet(ctx context.Context, in *model.CreateReplicationSetInput) (*model.CreateReplicationSetOutput, error) {
	c := caller(ctx)
	now := s.clock()
	rs := &domain.ReplicationSet{
		ARN:              makeARN(c.Account, "replication-set", uuid.NewString()),
		Account:          c.Account,
		CreatedBy:        c.Principal,
		CreatedTime:      now,
		LastModifiedBy:   c.Principal,
		LastModifiedTime: now,
		Regions:          map[string]*domain.Region{},
	}
	for name, v := range in.Regions {
		if err := checkRegionName(name); err != nil {
			return nil, err
		}
		rs.Regions[name] = &domain.Region{SSEKMSKeyID: kmsKey(v.SseKmsKeyId), AddedTime: now, StatusUpdateTime: now}
	}
	err := s.store.CreateReplicationSet(ctx, rs, in.Tags)
	if errors.Is(err, domain.ErrConflict) {
		existing, gerr := s.store.GetReplicationSet(ctx, c.Account)
		id := ""
		if gerr == nil {
			id = existing.ARN
		}
		return nil, domain.Conflict(domain.ResourceReplicationSet, id, "A replication set already exists in account %s: an account has at most one.", c.Account)
	}
	if err != nil {
		return nil, err
	}
	return &model.CreateReplicationSetOutput{Arn: &rs.ARN}, nil
}

// replicationSet returns the caller's replication set if arn names it.
func (s *Service) replicationSet(ctx context.Context, arn string) (*domain.ReplicationSet, error) {
	c := caller(ctx)
	rs, err := s.store.GetReplicationSet(ctx, c.Account)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && rs.ARN != arn) {
		return nil, replicationSetNotFound(arn)
	}
	return rs, err
}

func replicationSetNotFound(arn string) error {
	return domain.NotFound(domain.ResourceReplicationSet, arn, "Replication set %s not found", arn)
}

// GetReplicationSet returns the replication set arn names.
// Errors: NotFoundError.
func (s *Service) GetReplicationSet(ctx context.Context, in *model.GetReplicationSetInput) (*model.GetReplicationSetOutput, error) {
	ctx, err := s.authorize(ctx, "GetReplicationSet", *in.Arn)
	if err != nil {
		return nil, err
	}
	rs, err := s.replicationSet(ctx, *in.Arn)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	out := &model.ReplicationSet{
		Arn:               &rs.ARN,
		CreatedBy:         &rs.CreatedBy,
		CreatedTime:       model.NewTimestamp(rs.CreatedTime),
		DeletionProtected: &rs.DeletionProtected,
		LastModifiedBy:    &rs.LastModifiedBy,
		LastModifiedTime:  model.NewTimestamp(rs.LastModifiedTime),
		RegionMap:         map[string]model.RegionInfo{},
		Status:            ptr(rs.Status(now, s.cfg.ProvisioningDelay)),
	}
	for name, r := range rs.Regions {
		st, changed, gone := r.RegionStatus(now, s.cfg.ProvisioningDelay)
		if gone {
			continue
		}
		out.RegionMap[name] = model.RegionInfo{
			SseKmsKeyId:          ptr(r.SSEKMSKeyID),
			Status:               &st,
			StatusUpdateDateTime: model.NewTimestamp(changed),
		}
	}
	return &model.GetReplicationSetOutput{ReplicationSet: out}, nil
}

// ListReplicationSets lists the ARN of the account's replication set (at most one).
// Errors: ValidationError for a bad nextToken.
func (s *Service) ListReplicationSets(ctx context.Context, in *model.ListReplicationSetsInput) (*model.ListReplicationSetsOutput, error) {
	ctx, err := s.authorize(ctx, "ListReplicationSets", "*")
	if err != nil {
		return nil, err
	}
	c := caller(ctx)
	var after string
	if _, err := s.tokens.resume(listing{op: "ListReplicationSets", account: c.Account}, in.NextToken, &after); err != nil {
		return nil, err
	}
	out := &model.ListReplicationSetsOutput{ReplicationSetArns: []string{}}
	rs, err := s.store.GetReplicationSet(ctx, c.Account)
	if errors.Is(err, domain.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if rs.ARN > after {
		out.ReplicationSetArns = append(out.ReplicationSetArns, rs.ARN)
	}
	return out, nil
}

// UpdateReplicationSet adds a region to the set or removes one. Removing the
// last region deletes the replication set, as DeleteReplicationSet does.
// Errors: NotFoundError; ConflictError when the set is not ACTIVE or the
// region is already there; ValidationError for a region that is absent, too
// young to delete, beyond the three-region limit, or protected from deletion.
func (s *Service) UpdateReplicationSet(ctx context.Context, in *model.UpdateReplicationSetInput) (*model.UpdateReplicationSetOutput, error) {
	ctx, err := s.authorize(ctx, "UpdateReplicationSet", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UpdateReplicationSet", in.ClientToken, in, func(ctx context.Context) (*model.UpdateReplicationSetOutput, error) {
		return s.updateReplicationSet(ctx, in)
	})
}

func (s *Service) updateReplicationSet(ctx context.Context, in *model.UpdateReplicationSetInput) (*model.UpdateReplicationSetOutput, error) {
	c := caller(ctx)
	rs, err := s.replicationSet(ctx, *in.Arn)
	if err != nil {
		return nil, err
	}
	action := in.Actions[0]
	now := s.clock()
	if del := action.DeleteRegionAction; del != nil {
		live := rs.LiveRegions(now, s.cfg.ProvisioningDelay)
		if len(live) == 1 && live[0] == *del.RegionName {
			// Deleting the last region deletes the set, under the same
			// rules as deleting any region.
			if st := rs.Status(now, s.cfg.ProvisioningDelay); st != domain.StatusActive {
				return nil, domain.Conflict(domain.ResourceReplicationSet, rs.ARN, "The replication set is %s; retry when it is ACTIVE.", st)
			}
			if err := s.checkRegionAge(rs.Regions[live[0]], live[0], now); err != nil {
				return nil, err
			}
			return &model.UpdateReplicationSetOutput{}, s.deleteReplicationSet(ctx, rs.ARN, "delete the last Region of")
		}
	}
	err = s.store.UpdateReplicationSet(ctx, c.Account, func(rs *domain.ReplicationSet) error {
		if rs.ARN != *in.Arn {
			return replicationSetNotFound(*in.Arn)
		}
		if st := rs.Status(now, s.cfg.ProvisioningDelay); st != domain.StatusActive {
			return domain.Conflict(domain.ResourceReplicationSet, rs.ARN, "The replication set is %s; retry when it is ACTIVE.", st)
		}
		rs.Prune(now, s.cfg.ProvisioningDelay)
		switch {
		case action.AddRegionAction != nil:
			add := action.AddRegionAction
			if err := checkRegionName(*add.RegionName); err != nil {
				return err
			}
			if _, ok := rs.Regions[*add.RegionName]; ok {
				return domain.Conflict(domain.ResourceReplicationSet, rs.ARN, "Region %s is already in the replication set.", *add.RegionName)
			}
			if len(rs.Regions) >= domain.MaxRegions {
				return domain.Invalid("A replication set can hold at most %d Regions.", domain.MaxRegions)
			}
			rs.Regions[*add.RegionName] = &domain.Region{SSEKMSKeyID: kmsKey(add.SseKmsKeyId), AddedTime: now, StatusUpdateTime: now}
		case action.DeleteRegionAction != nil:
			name := *action.DeleteRegionAction.RegionName
			r, ok := rs.Regions[name]
			if !ok {
				return domain.Invalid("Region %s is not in the replication set.", name)
			}
			if err := s.checkRegionAge(r, name, now); err != nil {
				return err
			}
			if len(rs.LiveRegions(now, s.cfg.ProvisioningDelay)) == 1 {
				return domain.Conflict(domain.ResourceReplicationSet, rs.ARN, "The replication set changed; retry the request.")
			}
			r.DeletingSince = &now
			r.StatusUpdateTime = now
			rs.Prune(now, s.cfg.ProvisioningDelay)
		}
		rs.LastModifiedBy = c.Principal
		rs.LastModifiedTime = now
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, replicationSetNotFound(*in.Arn)
	}
	if err != nil {
		return nil, err
	}
	return &model.UpdateReplicationSetOutput{}, nil
}

// checkRegionAge refuses to delete a region younger than RegionDeleteMinAge.
func (s *Service) checkRegionAge(r *domain.Region, name string, now time.Time) error {
	if age := now.Sub(r.AddedTime); s.cfg.RegionDeleteMinAge > 0 && age < s.cfg.RegionDeleteMinAge {
		return domain.Invalid("Region %s was added %s ago; a Region can be deleted %s after it was added.", name, age.Round(time.Second), s.cfg.RegionDeleteMinAge)
	}
	return nil
}

// UpdateDeletionProtection turns deletion protection of the set on or off.
// Errors: NotFoundError.
func (s *Service) UpdateDeletionProtection(ctx context.Context, in *model.UpdateDeletionProtectionInput) (*model.UpdateDeletionProtectionOutput, error) {
	ctx, err := s.authorize(ctx, "UpdateDeletionProtection", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "UpdateDeletionProtection", in.ClientToken, in, func(ctx context.Context) (*model.UpdateDeletionProtectionOutput, error) {
		return s.updateDeletionProtection(ctx, in)
	})
}

func (s *Service) updateDeletionProtection(ctx context.Context, in *model.UpdateDeletionProtectionInput) (*model.UpdateDeletionProtectionOutput, error) {
	c := caller(ctx)
	now := s.clock()
	err := s.store.UpdateReplicationSet(ctx, c.Account, func(rs *domain.ReplicationSet) error {
		if rs.ARN != *in.Arn {
			return replicationSetNotFound(*in.Arn)
		}
		rs.DeletionProtected = *in.DeletionProtected
		rs.LastModifiedBy = c.Principal
		rs.LastModifiedTime = now
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, replicationSetNotFound(*in.Arn)
	}
	if err != nil {
		return nil, err
	}
	return &model.UpdateDeletionProtectionOutput{}, nil
}

// DeleteReplicationSet deletes the replication set and with it every
// Incident Manager resource of the account.
// Errors: NotFoundError; ValidationError while deletion protection is on.
func (s *Service) DeleteReplicationSet(ctx context.Context, in *model.DeleteReplicationSetInput) (*model.DeleteReplicationSetOutput, error) {
	ctx, err := s.authorize(ctx, "DeleteReplicationSet", *in.Arn)
	if err != nil {
		return nil, err
	}
	return mutate(s, ctx, "DeleteReplicationSet", nil, in, func(ctx context.Context) (*model.DeleteReplicationSetOutput, error) {
		if err := s.deleteReplicationSet(ctx, *in.Arn, "delete"); err != nil {
			return nil, err
		}
		return &model.DeleteReplicationSetOutput{}, nil
	})
}

func (s *Service) deleteReplicationSet(ctx context.Context, arn, what string) error {
	c := caller(ctx)
	err := s.store.DeleteAccountData(ctx, c.Account, func(rs *domain.ReplicationSet) error {
		if rs.ARN != arn {
			return replicationSetNotFound(arn)
		}
		if rs.DeletionProtected {
			return domain.Invalid("Deletion protection is enabled on replication set %s: turn it off with UpdateDeletionProtection before you %s it.", arn, what)
		}
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return replicationSetNotFound(arn)
	}
	return err
}
