from celery import shared_task
from django.core.mail import send_mail

from accounts import tokens


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(*, subject: str, body: str, to: str) -> None:
    """Sends one email; retried when the mail server cannot be reached."""
    send_mail(subject, body, None, [to])


@shared_task
def purge_revoked_tokens() -> int:
    return tokens.revoked_tokens_purge()
