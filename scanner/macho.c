/* Placeholder until the Mach-O parser lands: recognizes the magic only. */
#include "scanner/macho.h"

#include <string.h>

int ward_macho_is_magic(const uint8_t m[4])
{
	static const uint8_t magics[][4] = {
		{ 0xfe, 0xed, 0xfa, 0xce }, { 0xce, 0xfa, 0xed, 0xfe }, /* MH_MAGIC, MH_CIGAM */
		{ 0xfe, 0xed, 0xfa, 0xcf }, { 0xcf, 0xfa, 0xed, 0xfe }, /* MH_MAGIC_64, MH_CIGAM_64 */
		{ 0xca, 0xfe, 0xba, 0xbe }, { 0xca, 0xfe, 0xba, 0xbf }, /* FAT_MAGIC, FAT_MAGIC_64 */
	};
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (memcmp(m, magics[i], 4) == 0)
			return 1;
	return 0;
}

ward_err_t ward_macho_read(const ward_reader_t *r, unsigned flags, ward_identity_t *id,
                           ward_error_t *err)
{
	(void)r;
	(void)flags;
	(void)id;
	return ward_error_set(err, WARD_E_UNSUPPORTED, "Mach-O parser not built yet");
}
