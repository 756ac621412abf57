/* Error text for the codes librasn returns. */
#include <string.h>

#include "rasn.h"

const char *rasn_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case RASN_ESYNTAX:
		return "malformed input";
	case RASN_ERANGE:
		return "value out of range";
	case RASN_EFORMAT:
		return "unknown or undetectable file format";
	case RASN_EEMPTY:
		return "nothing usable in the input";
	case RASN_ETOOMANY:
		return "too many bad lines";
	case RASN_EBUSY:
		return "busy: a bound is reached, try again later";
	case RASN_EOPEN:
		return "circuit breaker open: upstream not tried";
	default:
		break;
	}
	/* Only the errno range goes to strerror(): an unknown code in the reserved range must
	 * not read as "Unknown error 10042". */
	if (err < 0 && err > -RASN_EBASE)
		return strerror(-err);
	return "unknown error";
}
