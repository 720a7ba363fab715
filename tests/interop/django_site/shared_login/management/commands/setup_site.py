"""manage.py setup_site USERNAME PASSWORD: creates the SQLite database
(migrate) and the user in one process, so a test pays one Django start-up."""
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate the database and create (or reset) one user."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("password")

    def handle(self, *args, username, password, **options):
        call_command("migrate", verbosity=0, interactive=False)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        self.stdout.write(str(user.pk))
