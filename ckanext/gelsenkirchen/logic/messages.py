"""Validation messages of the Gelsenkirchen schemas, in English and German.

Every message goes through ``toolkit._`` (the English text is the msgid, so
the strings are picked up by ``babel extract`` and translatable as usual).
While the extension's German catalogue does not contain a msgid yet, the
German text below is used for German requests, so the portal (German by
default) never shows an untranslated message.
"""
from __future__ import annotations

import ckan.plugins.toolkit as tk

GERMAN: dict[str, str] = {
    "Please enter a valid e-mail address, e.g. name@gelsenkirchen.de.":
        "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@gelsenkirchen.de.",
    "Please enter a valid web address starting with http:// or https://.":
        "Bitte geben Sie eine gültige Webadresse ein, die mit http:// oder https:// beginnt.",
    "Unknown licence: {value}. Choose a licence from the list.":
        "Unbekannte Lizenz: {value}. Bitte wählen Sie eine Lizenz aus der Liste.",
    "Unknown theme: {value}. Choose themes from the EU data-theme vocabulary.":
        "Unbekannte Kategorie: {value}. Bitte wählen Sie Kategorien aus dem EU-Vokabular "
        "„Data Theme“.",
    "Please choose at least one theme.":
        "Bitte wählen Sie mindestens eine Kategorie.",
    "Unknown Stadtbezirk or Stadtteil: {value}.":
        "Unbekannter Stadtbezirk oder Stadtteil: {value}.",
    "Unknown Stadtteil: {value}.": "Unbekannter Stadtteil: {value}.",
    "The end date must not be before the start date.":
        "Das Enddatum darf nicht vor dem Startdatum liegen.",
    "Please enter a date as YYYY-MM-DD.":
        "Bitte geben Sie ein Datum im Format JJJJ-MM-TT ein.",
    "Please enter a date and time as YYYY-MM-DDThh:mm:ss.":
        "Bitte geben Sie Datum und Uhrzeit im Format JJJJ-MM-TTThh:mm:ss ein.",
    "The spatial value must be a GeoJSON geometry (Polygon, MultiPolygon or Point) "
    "inside Gelsenkirchen.":
        "Der Raumbezug muss eine GeoJSON-Geometrie (Polygon, MultiPolygon oder Point) "
        "innerhalb Gelsenkirchens sein.",
    "The contact point needs an e-mail address or a contact URL.":
        "Die Kontaktstelle benötigt eine E-Mail-Adresse oder eine Kontakt-URL.",
    "The licence {value} requires an attribution text (Namensnennung).":
        "Die Lizenz {value} verlangt einen Namensnennungstext.",
    "Unknown update frequency: {value}.": "Unbekannte Aktualisierungsfrequenz: {value}.",
    "Unknown language: {value}.": "Unbekannte Sprache: {value}.",
    "Unknown high-value dataset category: {value}.":
        "Unbekannte Kategorie hochwertiger Datensätze: {value}.",
    "Unknown availability: {value}.": "Unbekannte Verfügbarkeit: {value}.",
    "Unknown format: {value}. Use a format of the EU file-type vocabulary, e.g. CSV, JSON, "
    "GeoJSON.":
        "Unbekanntes Format: {value}. Bitte verwenden Sie ein Format aus dem EU-Vokabular "
        "„File Type“, z. B. CSV, JSON, GeoJSON.",
    "Please enter a media type such as text/csv.":
        "Bitte geben Sie einen Medientyp wie text/csv ein.",
    "Unknown checksum algorithm: {value}.": "Unbekannter Prüfsummen-Algorithmus: {value}.",
    "This field is read-only: it is filled by the harvester and can only be set "
    "through the API by a sysadmin.":
        "Dieses Feld ist schreibgeschützt: Es wird vom Harvester befüllt und kann nur von "
        "Systemadministratoren über die API gesetzt werden.",
    "The contributor ID must be an IRI from http://dcat-ap.de/def/contributors/.":
        "Die Contributor-ID muss eine IRI aus http://dcat-ap.de/def/contributors/ sein.",
    "The political geocoding must be an IRI from http://dcat-ap.de/def/politicalGeocoding/.":
        "Die politische Geokodierung muss eine IRI aus "
        "http://dcat-ap.de/def/politicalGeocoding/ sein.",
    "Please enter a whole number of 0 or more.":
        "Bitte geben Sie eine ganze Zahl größer oder gleich 0 ein.",
    "Please enter a percentage between 0 and 100.":
        "Bitte geben Sie einen Prozentwert zwischen 0 und 100 ein.",
    "The number connected must not exceed the total.":
        "Die Zahl der angeschlossenen Einrichtungen darf die Gesamtzahl nicht übersteigen.",
    "Please enter a JSON object of status names and counts, e.g. {\"online\": 3}.":
        "Bitte geben Sie ein JSON-Objekt aus Status und Anzahl ein, z. B. {\"online\": 3}.",
    "Please enter a list of texts.": "Bitte geben Sie eine Liste von Texten ein.",
    "Unknown speed class: {value}.": "Unbekannte Geschwindigkeitsklasse: {value}.",
    "Please enter a checksum in hexadecimal digits.":
        "Bitte geben Sie eine Prüfsumme in Hexadezimalziffern ein.",
}


def current_lang() -> str:
    try:
        from ckan.lib.i18n import get_lang

        return str(get_lang() or "de")
    except Exception:  # outside a request (CLI, harvester worker)
        return str(tk.config.get("ckan.locale_default") or "de")


def msg(msgid: str, **kwargs: str) -> str:
    """The message for ``msgid`` in the current language."""
    try:
        text = tk._(msgid)
    except Exception:  # no request/babel context
        text = msgid
    if text == msgid and current_lang().startswith("de"):
        text = GERMAN.get(msgid, msgid)
    return text.format(**kwargs) if kwargs else text
