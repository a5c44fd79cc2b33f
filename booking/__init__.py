"""Booking Desk: book sessions with analysts, locally or through Calendly.

This package holds all the logic and never imports streamlit; the Streamlit pages,
the HTTP routes and the command line are thin edges over it.
"""
