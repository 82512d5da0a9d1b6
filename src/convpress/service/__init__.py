"""The REST service and web page behind ``convpress serve``.

:func:`convpress.service.app.create_app` builds the FastAPI application from
:class:`convpress.service.limits.ServiceSettings`; see docs/service.md for the endpoints and limits.
This package imports FastAPI only from :mod:`~convpress.service.app` and
:mod:`~convpress.service.middleware`, so the command line stays quick to start.
"""
