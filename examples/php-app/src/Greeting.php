<?php

declare(strict_types=1);

namespace App;

/** The page: a greeting, the GREETING config var when set, and the PHP and server it runs on. */
final class Greeting
{
    public static function page(): string
    {
        $lines = ['Hello from Slipway on PHP!'];
        $greeting = getenv('GREETING');
        if (is_string($greeting) && $greeting !== '') {
            $lines[] = $greeting;
        }
        $lines[] = sprintf('PHP %s (%s)', PHP_VERSION, PHP_SAPI);
        return implode("\n", $lines) . "\n";
    }
}
