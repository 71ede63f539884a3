"""A stand-in for a city's SMS gateway class, for settings tests."""

from onewindow.identity.sms import SmsGateway


class CityGateway(SmsGateway):
    def send(self, *, phone: str, text: str) -> None:
        raise RuntimeError("tests never send SMS")
