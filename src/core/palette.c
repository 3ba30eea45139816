/*
** Core: the class colours (see ek_palette.h).
*/
#include "ek_palette.h"

const unsigned char ek_class_palette[EK_CLASS_PALETTE_SIZE][3] = {
    {78, 121, 167}, {242, 142, 43},  {225, 87, 89},   {118, 183, 178}, {89, 161, 79},
    {237, 201, 72}, {176, 122, 161}, {255, 157, 167}, {156, 117, 95},  {186, 176, 172},
};
