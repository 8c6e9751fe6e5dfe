"""`manage.py rotate_transcript_keys`: re-encrypts stored transcripts (every encrypted column)
with the newest key of `TRANSCRIPT_ENCRYPTION_KEYS`.

Put the new key first in every process's `TRANSCRIPT_ENCRYPTION_KEYS` and restart them, then
run this; once it reports nothing left to re-encrypt, older keys can be dropped. It works in
batches (`--batch-size`) with bounded memory, skips rows already under the newest key, so a
run that stopped is resumed by running it again, and prints counts only, never text.
"""

from django.core.management.base import BaseCommand, CommandError

from callmeback.encryption import Progress, encrypted_fields, reencrypt


class Command(BaseCommand):
    help = "Re-encrypts stored transcripts with the newest key of TRANSCRIPT_ENCRYPTION_KEYS, in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read and written at a time (500).")

    def handle(self, *args, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        unreadable = 0
        for model, field in encrypted_fields():
            for progress in reencrypt(model, field, batch_size=batch_size):
                self.stdout.write(self._line(progress))
            self.stdout.write(self.style.SUCCESS(f"{self._line(progress)}: done"))
            unreadable += progress.unreadable
        if unreadable:
            raise CommandError(
                f"{unreadable} row(s) can't be read with the current keys and were left as they are "
                "(their ids are in the log): add the key they were written with and run again."
            )

    @staticmethod
    def _line(progress: Progress) -> str:
        return (
            f"{progress.label}: {progress.read} read, {progress.reencrypted} re-encrypted, "
            f"{progress.current} already current, {progress.unreadable} unreadable"
        )
