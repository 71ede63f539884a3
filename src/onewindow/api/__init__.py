"""The public JSON API, ``/api/v1`` (django-ninja): one router per app, one error envelope."""
