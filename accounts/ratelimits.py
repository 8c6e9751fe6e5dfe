"""Rate limits of the auth and profile endpoints (`000_*` §1, §5.1, §9), shared by the API
and the dashboard: one counter per limit, whichever face the request comes through."""

from callmeback.ratelimit import RateLimit

REGISTER = RateLimit("accounts.register", "3/hour", per="ip")
LOGIN = RateLimit("accounts.login", "5/min", per="ip")
LOGOUT = RateLimit("accounts.logout", "10/min")
ME = RateLimit("accounts.me", "30/min")
REFRESH = RateLimit("accounts.refresh", "10/min", per="ip")
FORGOT_PASSWORD = RateLimit("accounts.forgot-password", "3/hour", per="ip")
RESET_PASSWORD = RateLimit("accounts.reset-password", "10/min", per="ip")
VERIFY_EMAIL = RateLimit("accounts.verify-email", "10/min", per="ip")
RESEND_VERIFICATION = RateLimit("accounts.resend-verification", "3/hour")
CHANGE_PASSWORD = RateLimit("accounts.change-password", "10/min")
UPDATE_PROFILE = RateLimit("accounts.update-profile", "10/min")
# Verify limits codes and attempts per number; these stop one person or address sending
# texts to many numbers.
PHONE_VERIFY_START = RateLimit("accounts.phone-verify-start", "5/hour")
PHONE_VERIFY_START_IP = RateLimit("accounts.phone-verify-start-ip", "10/hour", per="ip")
PHONE_VERIFY_CHECK = RateLimit("accounts.phone-verify-check", "10/hour")
PHONE_VERIFY_CHECK_IP = RateLimit("accounts.phone-verify-check-ip", "30/hour", per="ip")
