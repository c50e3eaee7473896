package nexus_test

import (
	"errors"

	"github.com/lsst-dm/lsstgen/internal/nexus"
)

func asAPIError(err error, target **nexus.APIError) bool { return errors.As(err, target) }
