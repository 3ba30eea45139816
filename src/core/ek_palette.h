/*
** Core: the colours of classes in every chart and image eodkit draws (the
** audit's report, eval's mosaics and previews).
*/
#ifndef EK_PALETTE_H
#define EK_PALETTE_H

/* Colours of the classes other than the background, in class order, in the
   audit's charts and in the images eval draws: Tableau 10, distinct for the
   colour-blind and readable over imagery. */
#define EK_CLASS_PALETTE_SIZE 10
extern const unsigned char ek_class_palette[EK_CLASS_PALETTE_SIZE][3];

#endif
