"""Electronic certificates (电子证照): the certificate register, issuing and rendering, public verification."""
