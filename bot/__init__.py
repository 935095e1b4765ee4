"""wan-video-bot: a Telegram bot that animates a photo with wan2.6-i2v-flash."""
