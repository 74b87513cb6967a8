"""Create the first Administrator when there is none, printing its password once."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db.models import Q


class Command(BaseCommand):
    help = "Create a first Administrator (user 'admin') if no Administrator exists yet."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        role = Group.objects.get(name="Administrator")
        if User.objects.filter(Q(is_superuser=True) | Q(groups=role), is_active=True).exists():
            self.stdout.write("An Administrator already exists; nothing to do.")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        user.groups.add(role)
        self.stdout.write(
            self.style.SUCCESS(
                "Created the first Administrator.\n"
                f"  username: {username}\n  password: {password}\n"
                "This password is shown only once: change it after signing in."
            )
        )
